"""Two records that copy from or link to each other arriving at the same moment, applied by two workers in two
transactions, whichever commits first: an account and its first contact (the contact still gets the account's
name, country and industry); a ticket from an address and the lead with that address (the ticket's activity is
the lead's, so it reaches the lead's segments and score). On PostgreSQL (two transactions really run at once
there); SQLite runs one writer at a time."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_common.testing.harness import database_engine
from crm_marketing.domain import audience
from crm_marketing.models import AudienceActivity, AudienceMember, Base

pytestmark = [pytest.mark.integration, pytest.mark.postgresql]

ACCOUNT = {"id": "acct-1", "name": "Pumps NZ", "country": "nz", "industry": "Pumps", "grade": "B",
           "lifecycle_stage": "customer"}
CONTACT = {"id": "contact-1", "first_name": "Aroha", "last_name": "Seg", "account_id": "acct-1",
           "email": "aroha@example.nz"}


@pytest.fixture
def engine(tmp_path):
    with database_engine("postgresql", "marketing", Base.metadata, tmp_path) as engine:
        yield engine


def _in_thread(engine, apply) -> threading.Thread:
    def run():
        with Session(engine) as session, session.begin():
            apply(session)
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _first_holds_open(engine, first, second) -> None:
    """`first` applied and left uncommitted while `second` runs in another transaction; then first commits."""
    with Session(engine) as session, session.begin():
        first(session)
        other = _in_thread(engine, second)
        time.sleep(0.5)  # the other transaction runs into this one's uncommitted write meanwhile
    other.join(10)
    assert not other.is_alive()


def _contact(engine) -> AudienceMember:
    with Session(engine) as session:
        return session.execute(select(AudienceMember).where(AudienceMember.source_id == CONTACT["id"])).scalar_one()


@pytest.mark.parametrize("first", ["account", "contact"])
def test_an_account_and_its_contact_applied_at_once_leave_the_contact_with_the_accounts_fields(engine, first):
    account = lambda session: audience.account_changed(session, ACCOUNT)  # noqa: E731
    contact = lambda session: audience.contact_changed(session, CONTACT)  # noqa: E731
    if first == "account":
        _first_holds_open(engine, account, contact)
    else:
        _first_holds_open(engine, contact, account)
    member = _contact(engine)
    assert (member.company, member.country, member.industry, member.grade, member.lifecycle_stage) == (
        "Pumps NZ", "NZ", "Pumps", "B", "customer")


LEAD = {"id": "lead-1", "first_name": "Tane", "last_name": "Seg", "email": "Tane@Example.nz", "company": "Pumps NZ"}
TICKET = {"id": "ticket-1", "number": 17, "status": "open", "contact_id": None, "requester_email": "tane@example.nz"}


@pytest.mark.parametrize("first", ["ticket", "lead"])
def test_a_ticket_from_an_address_and_the_lead_with_it_applied_at_once_leave_the_activity_the_leads(engine, first):
    ticket = lambda session: audience.ticket(session, "ticket_opened", TICKET, {"event_id": "e-ticket"})  # noqa: E731
    lead = lambda session: audience.lead_changed(session, LEAD)  # noqa: E731
    if first == "ticket":
        _first_holds_open(engine, ticket, lead)
    else:
        _first_holds_open(engine, lead, ticket)
    with Session(engine) as session:
        member = session.execute(select(AudienceMember).where(AudienceMember.source_id == LEAD["id"])).scalar_one()
        done = session.execute(select(AudienceActivity.kind, AudienceActivity.member_id)).all()
    assert done == [("ticket_opened", member.id)]


def test_a_contact_changed_while_its_account_changes_waits_for_the_account_rather_than_deadlocking(engine, monkeypatch):
    """The account's worker takes the account's key, then writes the account's contacts; the contact's worker
    must not have written the contact's row before it asks for that key (each would wait for the other: PostgreSQL
    kills one as a deadlock and its event goes to a retry)."""
    with Session(engine) as session, session.begin():
        audience.account_changed(session, ACCOUNT)
        audience.contact_changed(session, CONTACT)
    holding, real = threading.Event(), audience.serialize_on

    def paused(session, key):  # the account's worker stops between its key and its write of the contacts
        real(session, key)
        if threading.current_thread().name == "account":
            holding.set()
            time.sleep(1.0)  # the contact's worker runs into the key meanwhile
    monkeypatch.setattr(audience, "serialize_on", paused)
    failures = []

    def run(apply):
        try:
            with Session(engine) as session, session.begin():
                apply(session)
        except Exception as error:  # noqa: BLE001 - the test reports what failed
            failures.append(error)
    renamed = {**ACCOUNT, "name": "Pumps Aotearoa"}
    account = threading.Thread(target=run, name="account", args=(lambda s: audience.account_changed(s, renamed),))
    account.start()
    assert holding.wait(10)
    moved = {**CONTACT, "title": "Buyer", "email": "aroha@pumps.example.nz"}  # a new address: the row written early
    run(lambda s: audience.contact_changed(s, moved))
    account.join(20)
    assert not account.is_alive() and failures == []
    member = _contact(engine)
    assert (member.company, member.title, member.email) == ("Pumps Aotearoa", "Buyer", "aroha@pumps.example.nz")
