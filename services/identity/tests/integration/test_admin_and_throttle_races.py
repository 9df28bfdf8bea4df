"""Races on both backends: two administrators demoting each other at once, and parallel login attempts on
one account (the count is taken under a lock, so no more than the limit get their password checked)."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_common.context import SYSTEM
from crm_common.context import Context
from crm_common.errors import ServiceError
from crm_common.testing.harness import database_engine
from crm_identity.domain import auth, passwords, roles, throttle, users
from crm_identity.models import Base, User

pytestmark = pytest.mark.integration

PASSWORD = "Str0ng-Passw0rd-42!"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    with database_engine(request.param, "identity", Base.metadata, tmp_path) as engine:
        yield engine


def add_admins(engine, *emails) -> list[User]:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        made = [User(email=e, full_name=e, password_hash=passwords.hash_password(PASSWORD), roles=["admin"],
                     territory_ids=[]) for e in emails]
        session.add_all(made)
    return made


def actor_of(engine, user):
    from crm_common.context import Actor
    with Session(engine) as session:
        return Actor(user_id=user.id, roles=tuple(user.roles), perms=roles.perms_for(session, user.roles))


def test_two_admins_demoting_each_other_at_once_leave_one(engine):
    first, second = add_admins(engine, "first@example.com", "second@example.com")
    results = {}

    def second_demotes_first():
        try:
            with Session(engine) as session, session.begin():
                users.update(Context(session, actor_of(engine, second), lambda *a, **k: {}), first.id,
                             {"roles": ["sales_rep"]})
            results["second"] = "ok"
        except ServiceError as exc:
            results["second"] = exc.code

    with Session(engine) as session, session.begin():
        users.update(Context(session, actor_of(engine, first), lambda *a, **k: {}), second.id, {"roles": ["sales_rep"]})
        racer = threading.Thread(target=second_demotes_first)
        racer.start()
        time.sleep(0.5)  # the second demotion runs now, while the first is not yet committed
        assert racer.is_alive()  # it waits for the administrators' rows (PostgreSQL) or the writer (SQLite)
    racer.join(15)
    assert results == {"second": "conflict"}
    with Session(engine) as session:
        admins = session.scalars(select(User.email).where(User.is_active.is_(True))).all()
        holders = [u.email for u in session.scalars(select(User)) if "admin" in u.roles]
    assert sorted(admins) == ["first@example.com", "second@example.com"] and holders == ["first@example.com"]


def test_parallel_wrong_passwords_get_no_more_than_the_limit_checked(engine, monkeypatch):
    monkeypatch.setenv("CRM_LOGIN_ACCOUNT_LIMIT", "5")
    add_admins(engine, "target@example.com")
    attempts = 12
    start = threading.Barrier(attempts)
    codes: list[str] = []

    def attempt():
        start.wait()
        with Session(engine) as session, session.begin():
            outcome = auth.attempt_login(Context(session, SYSTEM, lambda *a, **k: {}), "target@example.com",
                                         "Wrong-Passw0rd-123", None, "10.0.0.1")
        codes.append(outcome.error.code)

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(codes) == ["rate_limited"] * 7 + ["unauthenticated"] * 5
    with Session(engine) as session:
        with pytest.raises(ServiceError) as held:
            throttle.check_account(session, throttle.email_hash("target@example.com"))
    assert held.value.code == "rate_limited"
