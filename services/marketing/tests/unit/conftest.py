"""Marketing domain tests: SQLite in memory, no broker; every event checked against its contract."""
from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from crm_common.context import SYSTEM, Actor
from crm_common.testing.events import Events  # noqa: F401 - the fixtures' emit
from crm_common.db import make_engine
from crm_common.context import Context
from crm_common.permissions import BUILTIN_ROLES
from crm_marketing.models import Base


def actor(role: str, user_id: str, perms: dict | None = None) -> Actor:
    return Actor(user_id=user_id, roles=(role,), perms=perms if perms is not None else BUILTIN_ROLES[role])


@pytest.fixture
def session():
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as session:
        session.begin()
        yield session
        session.rollback()
    engine.dispose()


@pytest.fixture
def events():
    return Events()


@pytest.fixture
def make_ctx(session, events):
    """`make_ctx(caller)`: the Context an entrypoint hands the domain (one transaction, events recorded)."""
    def make(caller: Actor = SYSTEM) -> Context:
        return Context(session, caller, events, "req-1")
    return make


@pytest.fixture
def ctx_as(make_ctx):
    """`ctx_as(role, user_id, perms=None)`: a Context whose caller has the role's grants (or `perms`)."""
    return lambda role, user_id, perms=None: make_ctx(actor(role, user_id, perms))


@pytest.fixture
def marketer(ctx_as):
    return ctx_as("marketer", "mk-1")
