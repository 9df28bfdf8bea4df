"""Upgrading a database whose survey tokens were kept in clear (on invitations and tickets) keeps only
their SHA-256 digests, on SQLite and on PostgreSQL; a link sent before the upgrade still answers once."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from alembic import command

from crm_common import migrate
from crm_common.entrypoint import run
from crm_common.testing.harness import database_engine
from crm_common.unit_of_work import UnitOfWork
from crm_service_desk.domain import surveys
from crm_service_desk.models import Base, SurveyInvitation

pytestmark = pytest.mark.integration
BEFORE_DIGESTS = "5c0e1f7b9a21"
TOKENS = {"i1": "old-clear-token-one-AAAAAAAAAAAAAAAAAAAA", "i2": "old-clear-token-two-BBBBBBBBBBBBBBBBBBBB"}


class Publisher:
    def publish(self, envelope, **kwargs):
        pass


class Service:
    """What crm_common.entrypoint.run needs of a service: its unit of work."""

    def __init__(self, db):
        self.db = db


def _old_rows(engine) -> None:
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO sd_tickets (id, number, subject, description, channel, type, priority, status, tags, "
            "entitled, paused_minutes, sla_breached, escalation_level, reopened_count, survey_token, created_at, "
            "updated_at, version) VALUES ('t1', 'T-000001', 's', '', 'email', 'question', 'normal', 'solved', '[]', "
            ":f, 0, :f, 0, 0, :token, :now, :now, 1)"), {"token": TOKENS["i1"], "now": now, "f": False})
        for invitation_id, kind, ticket_id, score in (("i1", "csat", "t1", None), ("i2", "nps", None, 9)):
            conn.execute(sa.text(
                "INSERT INTO sd_survey_invitations (id, kind, token, ticket_id, email, score, created_at) "
                "VALUES (:id, :kind, :token, :ticket_id, 'ada@example.com', :score, :now)"),
                {"id": invitation_id, "kind": kind, "token": TOKENS[invitation_id], "ticket_id": ticket_id,
                 "score": score, "now": now})


def _everything(engine) -> str:
    with engine.connect() as conn:
        return json.dumps([[list(map(str, row)) for row in conn.execute(sa.select(table)).all()]
                           for table in Base.metadata.sorted_tables], default=str)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_clear_tokens_become_digests_and_still_answer(backend, tmp_path):
    with database_engine(backend, "service_desk", None, tmp_path) as engine:
        cfg = migrate.alembic_config("service_desk", engine.url.render_as_string(hide_password=False))
        command.upgrade(cfg, BEFORE_DIGESTS)
        _old_rows(engine)
        command.upgrade(cfg, "head")
        columns = {c["name"] for c in sa.inspect(engine).get_columns("sd_survey_invitations")}
        assert "token" not in columns and {"token_hash", "portal_token_hash"} <= columns
        assert "survey_token" not in {c["name"] for c in sa.inspect(engine).get_columns("sd_tickets")}
        stored = _everything(engine)
        for token in TOKENS.values():
            assert token not in stored
        with engine.connect() as conn:
            digests = dict(conn.execute(sa.text("SELECT id, token_hash FROM sd_survey_invitations")).all())
        assert digests == {k: hashlib.sha256(v.encode()).hexdigest() for k, v in TOKENS.items()}

        uow = UnitOfWork(engine, Base.metadata, "service_desk", Publisher(), None, None)
        try:
            answered = run(Service(uow), surveys.respond, {"score": 4}, token=TOKENS["i1"])
            assert answered.id == "i1" and answered.score == 4
            with pytest.raises(Exception) as again:
                run(Service(uow), surveys.respond, {"score": 5}, token=TOKENS["i1"])
            assert getattr(again.value, "code", None) == "conflict"
            with uow.transaction() as session:
                assert session.get(SurveyInvitation, "i1").score == 4
        finally:
            uow.close()
        command.upgrade(cfg, "head")  # a second run changes nothing
        command.downgrade(cfg, BEFORE_DIGESTS)  # the digests stay digests
        assert TOKENS["i2"] not in _everything_raw(engine)


def _everything_raw(engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(sa.text("SELECT * FROM sd_survey_invitations")).all())
