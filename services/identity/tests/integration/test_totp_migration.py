"""Upgrading a database whose TOTP seeds were written in clear (before they were sealed) seals them, on
SQLite and on PostgreSQL; the users can still pass their second factor afterwards."""
from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import MetaData, Table
from sqlalchemy.orm import Session

from crm_common.testing.checks import database_at
from crm_identity import keys
from crm_identity.domain import mfa
from crm_identity.models import User

pytestmark = pytest.mark.integration
BEFORE_SEALING = "43ebd2451251"
SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_seeds_kept_in_clear_are_sealed_by_the_upgrade(backend, tmp_path, monkeypatch):
    private_path, _ = keys.generate(tmp_path / "keys")
    monkeypatch.setenv("CRM_JWT_PRIVATE_KEY_FILE", str(private_path))
    with database_at("identity", BEFORE_SEALING, backend, tmp_path) as (engine, upgrade):
        # the users table as it was at that revision (the model has columns added since)
        users = Table("users", MetaData(), autoload_with=engine)
        with engine.begin() as conn:
            for row in [
                _row(users, id="u1", email="ada@example.com", full_name="Ada", password_hash="x", mfa_enabled=True,
                     mfa_secret=SEED, mfa_last_step=1),
                _row(users, id="u2", email="bob@example.com", full_name="Bob", password_hash="x",
                     mfa_pending_secret="KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"),
                _row(users, id="u3", email="cy@example.com", full_name="Cy", password_hash="x")]:
                conn.execute(users.insert().values(**row))
        upgrade()
        with Session(engine) as session:
            ada, bob, cy = (session.get(User, uid) for uid in ("u1", "u2", "u3"))
            assert ada.mfa_secret.startswith("gcm1:") and SEED not in ada.mfa_secret
            assert mfa.reveal(ada, ada.mfa_secret) == SEED
            assert mfa.check_login_code(ada, pyotp.TOTP(SEED).now()) is None  # still passes MFA
            assert mfa.reveal(bob, bob.mfa_pending_secret) == "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU" and bob.mfa_secret is None
            assert cy.mfa_secret is None and cy.mfa_pending_secret is None
        upgrade()  # a second run changes nothing
        with Session(engine) as session:
            assert mfa.reveal(session.get(User, "u1"), session.get(User, "u1").mfa_secret) == SEED


def _row(table: Table, **given) -> dict:
    """A users row for the columns the table has then: what is given, else the model's default."""
    values = {}
    for column in User.__table__.columns:
        if column.name not in table.c:
            continue
        if column.name in given:
            values[column.name] = given[column.name]
        elif column.default is not None:
            values[column.name] = column.default.arg(None) if callable(column.default.arg) else column.default.arg
    if "version" in table.c:  # the mapper's version counter, which the ORM sets itself
        values.setdefault("version", 1)
    return values
