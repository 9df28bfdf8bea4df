"""A support agent's ticket list on PostgreSQL: the tickets assigned to them, opened by them and of their groups,
read through the three columns' indexes (a BitmapOr) rather than by a filter on every ticket of the desk (figures in
the service's README)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session

import crm_service_desk_contracts as c
from crm_common.context import Actor, Context
from crm_common.permissions import BUILTIN_ROLES
from crm_common.rpc import dump_output
from crm_common.testing.checks import database_at
from crm_common.testing.plans import explained
from crm_service_desk.domain import tickets
from crm_service_desk.models import Group, GroupMember, Ticket

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(tmp_path):
    with database_at("service_desk", "head", "postgresql", tmp_path) as (engine, _):
        yield engine


def _ticket(number: int, **fields) -> Ticket:
    at = datetime(2026, 11, 1, tzinfo=timezone.utc) + timedelta(hours=number)
    return Ticket(id=f"t{number}", number=f"T-{number}", subject="s", description="", channel="email",
                  type="question", priority="normal", status="open", tags=[], created_at=at, updated_at=at,
                  **fields)


def _listed_through(engine, actor: Actor):
    """`run()` for explained: the caller's first page, read through a session of `engine` (a Context without a
    unit of work reads through its session, so that explained sees the statement)."""
    def listed():
        with Session(engine) as session, session.begin():
            page = tickets.list_tickets(Context(session, actor, None), {"limit": 50})
            return [t["id"] for t in dump_output(c.LIST_TICKETS, page)["items"]]
    return listed


@pytest.fixture
def desk(engine):
    with Session(engine) as session, session.begin():
        session.add_all([Group(id="g1", name="Printers", assignment="none", member_ids=["ag"]),
                         Group(id="g2", name="Phones", assignment="none", member_ids=[])])
        session.flush()
        session.add(GroupMember(group_id="g1", user_id="ag"))
        session.add_all([_ticket(1, group_id="g1", requester_email="ada@example.com"),
                         _ticket(2, assignee_id="ag", group_id="g2"), _ticket(3, created_by="ag", contact_id="c1"),
                         _ticket(4, group_id="g2", assignee_id="other"), _ticket(5, created_by="other")])
    return engine


def _plans(engine, actor: Actor) -> list[str]:
    listed = _listed_through(engine, actor)
    with Session(engine) as session, session.begin():
        return explained(session, listed, "sd_tickets")


def test_an_agent_lists_their_tickets_through_the_index_of_each_way(desk):
    """Assigned, opened, of each of their groups: each read in order from its (column, created_at, id) index."""
    agent = Actor(user_id="ag", kind="user", roles=("support_agent",), perms=BUILTIN_ROLES["support_agent"])
    assert _listed_through(desk, agent)() == ["t3", "t2", "t1"]  # newest first; the others' tickets are not theirs
    plans = _plans(desk, agent)
    assert plans and all(f"Index Scan Backward using ix_sd_tickets_{way}_created" in p
                         for p in plans for way in ("assignee", "opener", "group")), plans


def test_a_managers_first_page_reads_the_newest_tickets_from_the_creation_index_without_sorting_them(desk):
    manager = Actor(user_id="mg", kind="user", roles=("support_manager",), perms=BUILTIN_ROLES["support_manager"])
    assert _listed_through(desk, manager)() == ["t5", "t4", "t3", "t2", "t1"]
    plans = _plans(desk, manager)
    assert plans and all("Index Scan Backward using ix_sd_tickets_created " in p and "Sort" not in p
                         for p in plans), plans


def test_a_customer_lists_their_tickets_through_the_contact_and_email_indexes(desk):
    portal = Actor(user_id="cu", kind="customer", roles=("customer",), perms=BUILTIN_ROLES["customer"],
                   email="ada@example.com", contact_id="c1")
    assert _listed_through(desk, portal)() == ["t3", "t1"]
    plans = _plans(desk, portal)
    assert plans and all(f"Index Scan Backward using ix_sd_tickets_{way}_created" in p
                         for p in plans for way in ("contact", "requester")), plans
