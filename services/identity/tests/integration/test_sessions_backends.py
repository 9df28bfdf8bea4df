"""Sessions on SQLite and on PostgreSQL: the upgrade gives existing sessions their first login, the
absolute lifetime holds across rotations, and the revocation cutoff survives the database to the
microsecond."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.orm import Session

from crm_common import migrate
from crm_common.testing.harness import database_engine
from crm_identity.domain import territories, tokens
from crm_identity.models import RefreshToken, User

pytestmark = pytest.mark.integration
BEFORE = "cff473df830c"
T0 = datetime(2026, 11, 1, 9, 0, 0, 123456, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    with database_engine(request.param, "identity", None, tmp_path) as engine:
        yield engine.url.render_as_string(hide_password=False), engine


def test_existing_sessions_keep_their_first_login_and_end_at_the_maximum_age(database, monkeypatch):
    monkeypatch.delenv("CRM_SESSION_MAX_AGE", raising=False)
    url, engine = database
    cfg = migrate.alembic_config("identity", url)
    command.upgrade(cfg, BEFORE)
    users = sa.table("users", *(sa.column(c) for c in ("id", "email", "full_name", "password_hash", "is_active",
                                                       "territory_ids", "roles", "mfa_enabled", "version",
                                                       "created_at", "updated_at")))
    refresh = sa.table("refresh_tokens", *(sa.column(c) for c in ("id", "token_hash", "chain_id", "user_id",
                                                                  "issued_at", "expires_at", "used_at")))
    live = "live-secret"
    with engine.begin() as conn:
        conn.execute(users.insert().values(id="u1", email="ada@example.com", full_name="Ada", password_hash="x",
                                           is_active=True, territory_ids=sa.literal("[]"), roles=sa.literal('["sales_rep"]'),
                                           mfa_enabled=False, version=1, created_at=T0, updated_at=T0))
        conn.execute(refresh.insert(), [
            {"id": "r1", "token_hash": tokens.digest("spent"), "chain_id": "c1", "user_id": "u1", "issued_at": T0,
             "expires_at": T0 + timedelta(days=14), "used_at": T0 + timedelta(days=13)},
            {"id": "r2", "token_hash": tokens.digest(live), "chain_id": "c1", "user_id": "u1",
             "issued_at": T0 + timedelta(days=13), "expires_at": T0 + timedelta(days=27), "used_at": None}])
    command.upgrade(cfg, "head")
    with Session(engine) as session:
        assert {r.id: r.session_started_at for r in session.scalars(sa.select(RefreshToken))} == {"r1": T0, "r2": T0}
    with Session(engine) as session, session.begin():
        _, successor = tokens.rotate(session, live, now=T0 + timedelta(days=26))
    with Session(engine) as session:
        record = session.scalars(sa.select(RefreshToken).where(RefreshToken.token_hash == tokens.digest(successor))).one()
        assert (record.session_started_at, record.expires_at) == (T0, T0 + timedelta(days=30))
    with Session(engine) as session, session.begin(), pytest.raises(tokens.RefreshRefused):
        tokens.rotate(session, successor, now=T0 + timedelta(days=30, seconds=1))


def test_the_cutoff_and_membership_read_back_exactly(database):
    url, engine = database
    command.upgrade(migrate.alembic_config("identity", url), "head")
    with Session(engine) as session, session.begin():
        session.add(User(id="u1", email="ada@example.com", full_name="Ada", password_hash="x", roles=["sales_rep"],
                         territory_ids=["terr-1"], team_id="team-1"))
        session.flush()
        tokens.revoke_user(session, "u1", T0)
        territories.apply_roster(session, "terr-2", ["u1"], 5)
    with Session(engine) as session:
        state = tokens.cutoff(session, session.get(User, "u1"), now=T0 + timedelta(seconds=1))
    assert state["valid_after_us"] == 1793523600123456
    assert (state["team_id"], state["territory_ids"]) == ("team-1", ["terr-1", "terr-2"])
