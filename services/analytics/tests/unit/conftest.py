"""Analytics domain tests: SQLite, no broker. Events are fed as envelopes through the stream's `every` hook."""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session

from crm_common.context import SYSTEM, Actor, Context
from crm_common.permissions import BUILTIN_ROLES
from crm_common.testing.events import Events
from crm_common.testing.harness import database_engine

from crm_analytics.domain import log
from crm_analytics.models import Base

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def actor(role: str, user_id: str, team_id: str | None = None) -> Actor:
    return Actor(user_id=user_id, roles=(role,), perms=BUILTIN_ROLES[role], team_id=team_id)


BACKENDS = [b for b in os.environ.get("CRM_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


@pytest.fixture(params=[pytest.param(b, marks=[pytest.mark.integration] if b == "postgresql" else [])
                        for b in BACKENDS])
def engine(request, tmp_path):
    """The figures' SQL on each backend (PostgreSQL: a database of the test's own; marked integration)."""
    with database_engine(request.param, "analytics", Base.metadata, tmp_path) as engine:
        yield engine


@pytest.fixture
def session(engine):
    with Session(engine, expire_on_commit=False) as session:
        session.begin()
        yield session
        session.commit()


@pytest.fixture
def ctx_as(session):
    """`ctx_as(role, user_id, team_id=None)`: the Context an entrypoint hands the domain."""
    return lambda role, user_id, team_id=None: Context(session, actor(role, user_id, team_id), Events(), "req-1")


@pytest.fixture
def feed(session):
    """`feed(type, data, at=T0 + days)`: one event, as the stream hands it to the service (logged, projected)."""
    def send(type_: str, data: dict, days: float = 0, event_id: str | None = None) -> dict:
        envelope = {"event_id": event_id or str(uuid.uuid4()), "type": type_, "producer": type_.split(".")[0],
                    "occurred_at": (T0 + timedelta(days=days)).isoformat().replace("+00:00", "Z"),
                    "actor": {"user_id": "u-1"}, "request_id": "r", "entity": None, "action": None, "data": data}
        log.keep(Context(session, SYSTEM, Events(), "r"), envelope)
        return envelope
    return send
