from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from crm_common.testing.checks import assert_migrations_match_models, database_at
from crm_analytics.models import EVENTS, Base


def test_migrations_build_the_schema_the_models_declare(tmp_path):
    assert_migrations_match_models("analytics", f"sqlite:///{tmp_path / 'analytics.db'}", Base.metadata)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_upgrade_cuts_the_person_s_data_out_of_the_privacy_parts_logged_before(backend, tmp_path):
    """A log written before privacy parts were kept without their export still holds the person's data they
    carried: the upgrade cuts it; other events are left as they were."""
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    part = {"request_id": "P1", "service": "sales", "status": "done", "counts": {"leads": 1},
            "data": {"leads": [{"id": "L1", "title": "Countess", "email_hash": "ab" * 32}]}}
    rows = [("e1", "identity.privacy_requested.v1", {"request_id": "P1", "kind": "export", "email_hash": "ab" * 32}),
            ("e2", "sales.privacy_part_completed.v1", part),
            ("e3", "sales.lead_created.v1", {"id": "L1", "title": "Countess", "email_hash": "ab" * 32})]
    with database_at("analytics", "e61ec85864d0", backend, tmp_path) as (engine, upgrade):
        with engine.begin() as conn:
            for event_id, type_, data in rows:
                conn.execute(EVENTS.insert().values(
                    event_id=event_id, type=type_, producer=type_.split(".")[0], occurred_at=now, received_at=now,
                    envelope={"event_id": event_id, "type": type_, "data": data}))
        upgrade()
        with engine.connect() as conn:
            logged = {row.event_id: row.envelope["data"] for row in conn.execute(select(EVENTS))}
    assert logged == {"e1": rows[0][2],
                      "e2": {"request_id": "P1", "service": "sales", "status": "done", "counts": {"leads": 1},
                             "data": None},
                      "e3": rows[2][2]}
