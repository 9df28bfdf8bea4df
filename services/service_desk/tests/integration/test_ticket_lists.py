"""The ticket list on SQLite and PostgreSQL, migrated to head: who sees which tickets, the filters, cursor pages
across tickets opened in the same instant, every sort, and what a listed ticket says beside its columns."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

import crm_service_desk_contracts as c
from crm_common.context import Actor
from crm_common.entrypoint import run
from crm_common.permissions import BUILTIN_ROLES
from crm_common.rpc import dump_output
from crm_common.testing.checks import database_at
from crm_common.unit_of_work import UnitOfWork
from crm_service_desk.domain import tickets
from crm_service_desk.models import Base, DeskSettings, Group, GroupMember, Ticket

pytestmark = pytest.mark.integration
BACKENDS = [b for b in os.environ.get("CRM_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]
T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


class _Service:  # what crm_common.entrypoint.run needs of a service
    def __init__(self, db):
        self.db = db


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path):
    with database_at("service_desk", "head", request.param, tmp_path) as (engine, _):
        yield engine


def staff(user: str, role: str = "support_agent") -> Actor:
    return Actor(user_id=user, kind="user", roles=(role,), perms=BUILTIN_ROLES[role])


MANAGER = staff("mgr", "support_manager")


def customer(**who) -> Actor:
    return Actor(user_id="cu", kind="customer", roles=("customer",), perms=BUILTIN_ROLES["customer"], **who)


def ticket(number: int, hours: float = 0, **fields) -> Ticket:
    at = T0 + timedelta(hours=hours or number)
    values = dict(id=f"t{number:02d}", number=f"T-{number:06d}", subject=f"Ticket {number}", description="",
                  channel="email", type="question", priority="normal", status="open", tags=[], created_at=at,
                  updated_at=at)
    values.update(fields)
    return Ticket(**values)


def add(engine, *records) -> None:
    with Session(engine) as session, session.begin():
        session.add_all(records)


def listed(engine, actor: Actor, **args) -> dict:
    uow = UnitOfWork(engine, Base.metadata, "service_desk", None, actor, None)
    try:
        return dump_output(c.LIST_TICKETS, run(_Service(uow), tickets.list_tickets, {"limit": 50, **args}))
    finally:
        uow.close()


def ids(engine, actor: Actor, **args) -> list[str]:
    return [t["id"] for t in listed(engine, actor, **args)["items"]]


def walked(engine, actor: Actor, limit: int, **args) -> list[str]:
    """Every page's ids, following the cursors."""
    found, cursor = [], None
    while True:
        page = listed(engine, actor, limit=limit, **({"cursor": cursor} if cursor else {}), **args)
        found += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return found


@pytest.fixture
def desk(engine):
    add(engine, Group(id="g1", name="Printers", assignment="none", member_ids=["ag"]),
        Group(id="g2", name="Phones", assignment="none", member_ids=["ag"]),
        Group(id="g3", name="Faxes", assignment="none", member_ids=[]))
    add(engine, GroupMember(group_id="g1", user_id="ag"), GroupMember(group_id="g2", user_id="ag"))
    add(engine,
        ticket(1, group_id="g1", requester_email="ada@example.com", contact_id="c1", account_id="a1"),
        ticket(2, assignee_id="ag", group_id="g3", priority="high", requester_email="bob@example.com"),
        ticket(3, created_by="ag", tags=["vip"], requester_email="ada@example.com"),
        ticket(4, group_id="g3", assignee_id="other", account_id="a1", contact_id="c2"),
        ticket(5, created_by="other", contact_id="c1", status="pending", paused_at=T0, sla_breached=True),
        ticket(6, group_id="g2", assignee_id="ag", created_by="ag", subject="Printer on fire"),
        ticket(7, group_id="g1", deleted_at=T0))
    return engine


def test_each_caller_lists_the_live_tickets_they_see_newest_first(desk):
    assert ids(desk, MANAGER) == ["t06", "t05", "t04", "t03", "t02", "t01"]
    assert ids(desk, staff("ag")) == ["t06", "t03", "t02", "t01"]  # of g1 and g2, assigned, opened
    assert ids(desk, staff("lone")) == []
    assert ids(desk, staff("other")) == ["t05", "t04"]  # an agent of no group: assigned or opened
    assert ids(desk, customer(email="Ada@Example.com", contact_id="c1", account_id="a1")) == ["t05", "t03", "t01"]
    assert ids(desk, customer(contact_id="c2")) == ["t04"]
    assert ids(desk, customer()) == []
    with Session(desk) as session, session.begin():
        session.get(DeskSettings, 1).customers_see_account_tickets = True
    assert ids(desk, customer(email="ada@example.com", account_id="a1")) == ["t04", "t03", "t01"]


def test_the_filters_hold_for_every_caller(desk):
    agent = staff("ag")
    assert ids(desk, MANAGER, status="pending") == ["t05"]
    assert ids(desk, agent, priority="high") == ["t02"]
    assert ids(desk, agent, group_id="g1") == ["t01"]
    assert ids(desk, MANAGER, assignee_id="ag") == ["t06", "t02"]
    assert ids(desk, agent, requester_email="ADA@example.com") == ["t03", "t01"]
    assert ids(desk, agent, q="printer") == ["t06"]
    assert ids(desk, agent, tag="vip") == ["t03"]
    assert ids(desk, MANAGER, tag="vip", status="open") == ["t03"]
    assert ids(desk, MANAGER, sla_breached=True) == ["t05"]
    assert ids(desk, agent, number="T-000002") == ["t02"]
    assert ids(desk, customer(contact_id="c1"), status="open") == ["t01"]


def test_cursor_pages_cross_tickets_opened_in_the_same_instant(engine):
    add(engine, Group(id="g1", name="Printers", assignment="none", member_ids=["ag"]))
    add(engine, GroupMember(group_id="g1", user_id="ag"))
    same = [ticket(n, hours=5, group_id="g1" if n % 2 else None, assignee_id=None if n % 2 else "ag")
            for n in range(10, 20)]
    tied = sorted(t.id for t in same)
    add(engine, ticket(1, group_id="g1"), *same, ticket(30, assignee_id="ag"), ticket(31, hours=40))
    newest_first = ["t30"] + tied[::-1] + ["t01"]
    assert walked(engine, staff("ag"), 3) == newest_first
    assert walked(engine, MANAGER, 4) == ["t31"] + newest_first
    assert walked(engine, MANAGER, 5, sort="created_at") == ["t01"] + tied + ["t30", "t31"]


def test_every_sort_pages_in_its_order(desk):
    with Session(desk) as session, session.begin():
        for ticket_id, values in (("t01", {"updated_at": T0 + timedelta(days=9)}),
                                  ("t04", {"number": "T-000099", "updated_at": T0 + timedelta(hours=4)})):
            session.execute(update(Ticket).where(Ticket.id == ticket_id).values(**values))
    assert walked(desk, MANAGER, 2, sort="-updated_at") == ["t01", "t06", "t05", "t04", "t03", "t02"]
    assert walked(desk, MANAGER, 2, sort="number") == ["t01", "t02", "t03", "t05", "t06", "t04"]
    assert walked(desk, staff("ag"), 3, sort="-number") == ["t06", "t03", "t02", "t01"]
    assert walked(desk, staff("ag"), 1, sort="created_at") == ["t01", "t02", "t03", "t06"]


def test_a_listed_ticket_says_what_its_own_view_says(desk):
    page = listed(desk, MANAGER)["items"]
    paused, tagged = page[1], page[3]
    assert (paused["id"], paused["sla_paused"], paused["sla_breached"], paused["survey_token"]) == (
        "t05", True, True, None)
    assert (tagged["id"], tagged["sla_paused"], tagged["tags"], tagged["custom_fields"]) == ("t03", False, ["vip"], {})
    assert paused["created_at"] == "2026-11-01T05:00:00.000000Z"
