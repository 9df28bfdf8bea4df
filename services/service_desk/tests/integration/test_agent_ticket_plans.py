"""A support agent's ticket list on PostgreSQL: the tickets assigned to them, opened by them and of their groups,
read through the three columns' indexes (a BitmapOr) rather than by a filter on every ticket of the desk (figures in
the service's README)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session

from crm_common import migrate
from crm_common.context import Actor
from crm_common.db import make_engine
from crm_common.entrypoint import run
from crm_common.permissions import BUILTIN_ROLES
from crm_common.testing.harness import PgDatabases
from crm_common.testing.plans import explained
from crm_common.unit_of_work import UnitOfWork
from crm_service_desk.domain import tickets
from crm_service_desk.models import Base, Group, GroupMember, Ticket

pytestmark = pytest.mark.integration


class _Service:  # what crm_common.entrypoint.run needs of a service
    def __init__(self, db):
        self.db = db


@pytest.fixture
def engine():
    pg = PgDatabases(["service_desk"]).create()
    engine = make_engine(pg.url("service_desk"))
    try:
        from alembic import command
        command.upgrade(migrate.alembic_config("service_desk", pg.url("service_desk")), "head")
        yield engine
    finally:
        engine.dispose()
        pg.drop()


def _ticket(number: int, **fields) -> Ticket:
    at = datetime(2026, 11, 1, tzinfo=timezone.utc) + timedelta(hours=number)
    return Ticket(id=f"t{number}", number=f"T-{number}", subject="s", description="", channel="email",
                  type="question", priority="normal", status="open", tags=[], created_at=at, updated_at=at,
                  **fields)


def test_an_agent_lists_their_tickets_through_three_indexes(engine):
    with Session(engine) as session, session.begin():
        session.add_all([Group(id="g1", name="Printers", assignment="none", member_ids=["ag"]),
                         Group(id="g2", name="Phones", assignment="none", member_ids=[])])
        session.flush()
        session.add(GroupMember(group_id="g1", user_id="ag"))
        session.add_all([_ticket(1, group_id="g1"), _ticket(2, assignee_id="ag", group_id="g2"),
                         _ticket(3, created_by="ag"), _ticket(4, group_id="g2", assignee_id="other"),
                         _ticket(5, created_by="other")])
    agent = Actor(user_id="ag", kind="user", roles=("support_agent",), perms=BUILTIN_ROLES["support_agent"])

    def listed():
        uow = UnitOfWork(engine, Base.metadata, "service_desk", None, agent, None)
        try:
            return [t.id for t in run(_Service(uow), tickets.list_tickets, {"limit": 50})["items"]]
        finally:
            uow.close()

    assert listed() == ["t3", "t2", "t1"]  # newest first; the others' tickets are not theirs
    with Session(engine) as session, session.begin():
        plans = explained(session, listed, "sd_tickets", off=("seqscan",))
    assert plans and all("BitmapOr" in p and "ix_sd_tickets_created_by" in p and "ix_sd_tickets_group_id" in p
                         for p in plans), plans
