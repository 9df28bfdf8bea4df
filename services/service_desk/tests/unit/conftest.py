"""The service desk's domain against SQLite in memory, with the real unit of work and outbox (no broker):
each domain function runs as an RPC would run it (crm_common.entrypoint.run: one transaction, one Context)."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.pool import StaticPool

from crm_common import tables
from crm_common.context import Actor
from crm_common.db import make_engine, new_id
from crm_common.entrypoint import run
from crm_common.permissions import BUILTIN_ROLES
from crm_common.unit_of_work import UnitOfWork
from crm_service_desk.domain import kb_search
from crm_service_desk.models import AgentCopy, Base, ContactCopy, AccountCopy


class Publisher:
    """Collects what the unit of work publishes after commit."""

    def __init__(self):
        self.published: list[dict] = []

    def publish(self, envelope, **kwargs):
        self.published.append(envelope)


def actor(role: str, user_id: str | None = None, **kwargs) -> Actor:
    kind = "customer" if role == "customer" else "user"
    return Actor(user_id=user_id or new_id(), kind=kind, roles=(role,), perms=BUILTIN_ROLES[role], **kwargs)


class Service:
    """What crm_common.entrypoint.run needs of a service: its unit of work."""

    def __init__(self, db):
        self.db = db


class Desk:
    """Runs domain functions as an actor, each call in its own transaction, like an RPC would."""

    def __init__(self, engine):
        self.engine = engine
        self.publisher = Publisher()
        self.manager = actor("support_manager", email="manager@crm.test")

    @staticmethod
    def actor(role: str, **kwargs) -> Actor:
        return actor(role, **kwargs)

    def run(self, who: Actor | None, fn, *args, **options):
        """`fn(ctx, *args, **options)` as `who` (None: the system, as an event handler or a timer runs)."""
        uow = UnitOfWork(self.engine, Base.metadata, "service_desk", self.publisher, who, None)
        try:
            return run(Service(uow), fn, *args, **options)
        finally:
            uow.close()

    def query(self, fn):
        uow = UnitOfWork(self.engine, Base.metadata, "service_desk", self.publisher, None, None)
        try:
            with uow.transaction() as session:
                return fn(session)
        finally:
            uow.close()

    def events(self, type_suffix: str | None = None) -> list[dict]:
        """Events written to the outbox (in order), optionally only `service_desk.<suffix>.v1`."""
        table = Base.metadata.tables[tables.OUTBOX]
        rows = self.query(lambda s: s.execute(select(table.c.envelope).order_by(table.c.id)).scalars().all())
        if type_suffix:
            rows = [e for e in rows if e["type"] == f"service_desk.{type_suffix}.v1"]
        return rows

    def add(self, *records):
        def write(session):
            for record in records:
                session.add(record)
        self.query(write)

    def agent(self, **kwargs) -> Actor:
        who = actor("support_agent", **kwargs)
        self.add(AgentCopy(id=who.user_id, email=f"{who.user_id[:8]}@crm.test", roles=["support_agent"],
                           is_active=True, available=True))
        return who

    def contact(self, email: str, account_id: str | None = None, grade: str | None = None) -> ContactCopy:
        contact = ContactCopy(id=new_id(), email=email, first_name="Ada", last_name="Lovelace", account_id=account_id)
        records = [contact]
        if account_id and grade:
            records.append(AccountCopy(id=account_id, name="Acme", grade=grade))
        self.add(*records)
        return contact


@pytest.fixture
def engine():
    engine = make_engine("sqlite://", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        kb_search.install(conn)
    yield engine
    engine.dispose()


@pytest.fixture
def desk(engine):
    return Desk(engine)
