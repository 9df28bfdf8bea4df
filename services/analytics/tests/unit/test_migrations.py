from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import select

from crm_common import migrate
from crm_common.db import make_engine
from crm_common.testing.checks import assert_migrations_match_models
from crm_common.testing.harness import PgDatabases
from crm_analytics.models import EVENTS, Base


def test_migrations_build_the_schema_the_models_declare(tmp_path):
    assert_migrations_match_models("analytics", f"sqlite:///{tmp_path / 'analytics.db'}", Base.metadata)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_upgrade_cuts_the_privacy_events_logged_before_to_their_bookkeeping(backend, tmp_path):
    """A log written before the log kept privacy events' bookkeeping only still holds a request's address hash and
    an export's data: the upgrade cuts them; other events are left as they were."""
    pg = PgDatabases(["analytics"]).create() if backend == "postgresql" else None
    url = pg.url("analytics") if pg else f"sqlite:///{tmp_path / 'analytics.db'}"
    engine = make_engine(url)
    try:
        cfg = migrate.alembic_config("analytics", url)
        command.upgrade(cfg, "e61ec85864d0")
        now = datetime(2026, 12, 1, tzinfo=timezone.utc)
        part = {"request_id": "P1", "service": "sales", "status": "done", "counts": {"leads": 1},
                "data": {"leads": [{"id": "L1", "title": "Countess", "email_hash": "ab" * 32}]}}
        rows = [("e1", "identity.privacy_requested.v1", {"request_id": "P1", "kind": "export", "email_hash": "ab" * 32}),
                ("e2", "sales.privacy_part_completed.v1", part),
                ("e3", "sales.lead_created.v1", {"id": "L1", "title": "Countess", "email_hash": "ab" * 32})]
        with engine.begin() as conn:
            for event_id, type_, data in rows:
                conn.execute(EVENTS.insert().values(
                    event_id=event_id, type=type_, producer=type_.split(".")[0], occurred_at=now, received_at=now,
                    envelope={"event_id": event_id, "type": type_, "data": data}))
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            logged = {row.event_id: row.envelope["data"] for row in conn.execute(select(EVENTS))}
        assert logged == {"e1": {"request_id": "P1", "kind": "export"},
                          "e2": {"request_id": "P1", "service": "sales", "status": "done", "counts": {"leads": 1}},
                          "e3": rows[2][2]}
    finally:
        engine.dispose()
        if pg:
            pg.drop()
