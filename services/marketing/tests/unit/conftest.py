"""Marketing domain tests: SQLite in memory, no broker; every event checked against its contract."""
from __future__ import annotations

import pytest

from crm_common.context import SYSTEM, Actor
from crm_common.testing.harness import rolled_back_session
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
    with rolled_back_session(engine) as session:
        yield session
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


@pytest.fixture
def key_file(tmp_path, monkeypatch):
    """A marketing key of the test's own (the signed tokens of public links)."""
    path = tmp_path / "marketing.key"
    monkeypatch.setenv("CRM_MARKETING_KEY_FILE", str(path))
    return path


@pytest.fixture
def sent(session, key_file):
    """`sent(email=..., links=[...], ago=seconds, **columns)`: a Message of the send log, sent `ago` seconds ago."""
    from datetime import timedelta

    from crm_common.db import new_id, utcnow
    from crm_marketing.domain.suppressions import email_hash
    from crm_marketing.models import Message

    def make(email: str = "ada@engines.example", links=None, ago: float = 3600, **columns) -> Message:
        message = Message(campaign_id=columns.pop("campaign_id", new_id()), email=email, email_hash=email_hash(email),
                          status="sent", links=links if links is not None else ["https://engines.example/notes"],
                          sent_at=utcnow() - timedelta(seconds=ago), **columns)
        session.add(message)
        session.flush()
        return message
    return make
