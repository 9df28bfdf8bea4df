"""Unit-test fixtures: an in-memory SQLite database with the identity tables, signing keys, an event sink,
and the Context a domain function gets (`ctx_of(session, caller)`)."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from crm_common.context import SYSTEM, Actor
from crm_common.context import Context
from crm_identity import keys
from crm_identity.domain import passwords
from crm_identity.models import Base, User

PASSWORD = "Str0ng-Passw0rd-42!"


@pytest.fixture
def session():
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    Base.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as db:
        yield db
    engine.dispose()


@pytest.fixture(autouse=True)
def signing_keys(tmp_path, monkeypatch):
    private_path, public_path = keys.generate(tmp_path / "keys")
    monkeypatch.setenv("CRM_JWT_PRIVATE_KEY_FILE", str(private_path))
    return private_path, public_path


class Events(list):
    """Stands in for UnitOfWork.emit: keeps (type, data, actor)."""

    def __call__(self, type_, data, actor=None):
        self.append((type_, data, actor))
        return {}

    def types(self):
        return [t for t, _, _ in self]


@pytest.fixture
def events():
    return Events()


@pytest.fixture
def ctx_of(events):
    """`ctx_of(session, caller=the system)`: the Context of one call by `caller`, its events into `events`."""
    def make(session, caller: Actor = SYSTEM, emit=None) -> Context:
        return Context(session, caller, events if emit is None else emit)
    return make


ADMIN = Actor(user_id="admin-id", roles=("admin",), perms={"*": {"*": "all"}})


@pytest.fixture
def admin_actor():
    return ADMIN


@pytest.fixture
def user(session):
    """Ada, a sales rep with PASSWORD."""
    user = User(email="ada@example.com", full_name="Ada", password_hash=passwords.hash_password(PASSWORD),
                roles=["sales_rep"], territory_ids=[])
    session.add(user)
    session.flush()
    return user
