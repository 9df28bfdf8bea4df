"""Automation domain tests: SQLite in memory, no broker; other services are a fake bus recording its calls."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from crm_common.context import SYSTEM, Actor, Context
from crm_common.errors import ServiceError
from crm_common.testing.events import Events
from crm_common.testing.harness import database_engine
from sqlalchemy import create_engine
from crm_automation.models import Base


@pytest.fixture
def engine():
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def backend_engine(request, tmp_path):
    """A database file on SQLite, then a PostgreSQL database of the test's own: what a module that must hold on
    both backends uses as its `engine`."""
    with database_engine(request.param, "automation", Base.metadata, tmp_path) as engine:
        yield engine


@pytest.fixture
def events():
    return Events()


class Store:
    """Transactions like the service's: `tx(fn, *args)` runs fn(ctx, *args) in one committed transaction."""

    def __init__(self, engine, events):
        self.engine, self.events = engine, events

    def tx(self, fn, *args, caller: Actor = SYSTEM, **kwargs):
        with Session(self.engine, expire_on_commit=False) as session:
            with session.begin():
                return fn(Context(session, caller, self.events, "req-1"), *args, **kwargs)

    def as_user(self, user_id: str, roles=("sales_rep",)):
        actor = Actor(user_id=user_id, roles=tuple(roles))
        return lambda fn, *args, **kwargs: self.tx(fn, *args, caller=actor, **kwargs)


@pytest.fixture
def store(engine, events):
    return Store(engine, events)


@pytest.fixture
def backend_store(backend_engine, events):
    """`store` on a SQLite file, then on PostgreSQL (`backend_engine`)."""
    return Store(backend_engine, events)


class FakeBus:
    """The owning services' RPC: records each call; `fail` makes the next calls of a method fail."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.failing: dict[str, int] = {}
        self.records: dict[str, dict] = {}

    def call(self, service, method, payload=None, record_id=None, request=None):
        self.calls.append((service, method, payload, record_id, request))
        if self.failing.get(method, 0) > 0:
            self.failing[method] -= 1
            raise ServiceError("validation_failed", "refused by the owner", errors={"status": ["not allowed"]})
        if method.startswith("get_"):
            return dict(self.records.get(record_id, {}), id=record_id)
        return {"id": record_id or str(uuid.uuid4())}


@pytest.fixture
def bus():
    return FakeBus()


@pytest.fixture
def envelope():
    return make_envelope


def make_envelope(type_: str, data: dict, entity: str | None = None, action: str | None = None,
             request_id: str | None = None, producer: str = "sales") -> dict:
    return {"event_id": str(uuid.uuid4()), "type": type_, "occurred_at": "2026-12-04T10:00:00.000000Z",
            "producer": producer, "actor": None, "request_id": request_id, "entity": entity, "action": action,
            "data": data}
