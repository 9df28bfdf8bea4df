"""Integration domain tests: SQLite in memory, no broker."""
from __future__ import annotations

import pytest

from crm_common.context import Actor, Context
from crm_common.db import make_engine
from crm_common.permissions import BUILTIN_ROLES
from crm_common.testing.harness import rolled_back_session
from crm_common.testing.events import Events
from crm_integration.models import Base


def actor(role: str, user_id: str, perms: dict | None = None, **kw) -> Actor:
    return Actor(user_id=user_id, roles=(role,), perms=perms if perms is not None else BUILTIN_ROLES[role], **kw)


@pytest.fixture
def session():
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    with rolled_back_session(engine) as session:
        yield session
    engine.dispose()


@pytest.fixture
def events():
    return Events()


@pytest.fixture
def ctx_as(session, events):
    """`ctx_as(role, user_id, perms=None, **actor)`: the Context an entrypoint hands the domain."""
    return lambda role, user_id, perms=None, **kw: Context(session, actor(role, user_id, perms, **kw), events, "req-1")
