"""The host's way back in: `python -m crm_identity.recover_admin --email X` on a single machine whose only
administrator is deactivated, throttled, behind a lost second factor, or erased."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_common import tables
from crm_common.context import SYSTEM
from crm_common.db import make_engine
from crm_common.context import Context
from crm_identity import recover_admin, seed_admin
from crm_identity.domain import auth, privacy, users
from crm_identity.models import Base, User

ADMIN_PASSWORD = "Admin-Passw0rd-For-Tests!"


@pytest.fixture
def engine(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'identity.db'}"
    monkeypatch.setenv("IDENTITY_DATABASE_URL", url)
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    seed_admin.seed(engine, "root@example.com", ADMIN_PASSWORD)
    yield engine
    engine.dispose()


def login(engine, email, password, otp=None):
    with Session(engine, expire_on_commit=False) as session, session.begin():
        return auth.attempt_login(Context(session, SYSTEM, lambda *a, **k: {}), email, password, otp, "127.0.0.1")


def lock_out(engine):
    """The only administrator: deactivated, second factor on, and throttled by failed logins."""
    with Session(engine) as session, session.begin():
        root = users.by_email(session, "root@example.com")
        root.is_active, root.mfa_enabled, root.mfa_secret = False, True, "sealed-under-a-lost-key"
    for _ in range(6):
        login(engine, "root@example.com", "Wrong-Passw0rd-123")
    assert login(engine, "root@example.com", ADMIN_PASSWORD).error.code == "rate_limited"


def outbox_events(engine):
    table = Base.metadata.tables[tables.OUTBOX]
    with engine.connect() as conn:
        return [row.envelope for row in conn.execute(select(table))]


def test_a_locked_out_only_admin_is_recovered_and_signs_in(engine, capsys):
    lock_out(engine)
    assert recover_admin.main(["--email", "ROOT@example.com", "--reset-mfa"]) == 0
    out = capsys.readouterr().out
    password = re.search(r"password: (\S+) \(shown once\)", out).group(1)
    assert "re-enabled" in out and "5 failed login(s) cleared" in out
    assert login(engine, "root@example.com", ADMIN_PASSWORD).error.code == "unauthenticated"  # the old one is gone
    assert login(engine, "root@example.com", password).error is None
    [event] = outbox_events(engine)  # audited: identity's relay publishes it and the trail records it
    assert event["type"] == "identity.user_updated.v1" and event["actor"]["kind"] == "system"
    assert event["request_id"].startswith("recover-admin:")
    assert set(event["data"]["changed_fields"]) == {"password", "is_active", "mfa_enabled"}
    assert password not in str(event)


def test_without_reset_mfa_the_second_factor_stays(engine, capsys):
    lock_out(engine)
    assert recover_admin.main(["--email", "root@example.com"]) == 0
    password = re.search(r"password: (\S+)", capsys.readouterr().out).group(1)
    outcome = login(engine, "root@example.com", password)
    assert outcome.error.code == "unauthenticated" and outcome.error.extra == {"mfa": "required"}


def test_an_erased_admin_is_replaced_by_a_new_one_and_a_password_from_stdin(engine, monkeypatch, capsys):
    with Session(engine) as session, session.begin():
        privacy.erase_user(session, users.by_email(session, "root@example.com"))
    monkeypatch.setattr("sys.stdin", io.StringIO("Chosen-Passw0rd-4-Recovery\n"))
    assert recover_admin.main(["--email", "root@example.com", "--password-stdin"]) == 0
    out = capsys.readouterr().out
    assert "created" in out and "Chosen-Passw0rd" not in out
    assert login(engine, "root@example.com", "Chosen-Passw0rd-4-Recovery").error is None
    with Session(engine) as session:
        assert users.by_email(session, "root@example.com").roles == ["admin"]
    assert [e["type"] for e in outbox_events(engine)] == ["identity.user_created.v1"]


def test_a_staff_user_is_made_an_administrator_keeping_their_roles(engine, capsys):
    with Session(engine) as session, session.begin():
        session.add(User(email="rep@example.com", full_name="Rep", password_hash="x", roles=["sales_rep"],
                         territory_ids=[]))
    assert recover_admin.main(["--email", "rep@example.com"]) == 0
    with Session(engine) as session:
        assert users.by_email(session, "rep@example.com").roles == ["admin", "sales_rep"]


def test_refusals_change_nothing(engine, monkeypatch, capsys):
    with Session(engine) as session, session.begin():
        session.add(User(email="cust@example.com", full_name="C", password_hash="x", roles=["customer"],
                         territory_ids=[], contact_id="c-1"))
    assert recover_admin.main(["--email", "cust@example.com"]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert recover_admin.main(["--email", "root@example.com", "--password-stdin"]) == 1
    err = capsys.readouterr().err
    assert "portal customer" in err and "short" not in err
    assert login(engine, "root@example.com", ADMIN_PASSWORD).error is None
    assert outbox_events(engine) == []
