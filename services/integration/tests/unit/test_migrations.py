from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from crm_common.testing.checks import assert_migrations_match_models, database_at
from crm_integration.models import Base, Delivery, FeedEvent


def test_migrations_build_the_schema_the_models_declare(tmp_path):
    assert_migrations_match_models("integration", f"sqlite:///{tmp_path / 'integration.db'}", Base.metadata)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_upgrade_cuts_the_person_s_data_out_of_the_privacy_parts_in_the_feed_and_deliveries(backend, tmp_path):
    """A feed and webhook deliveries written before privacy parts were kept without their export still hold the
    person's data they carried: the upgrade cuts it there; other events are left as they were."""
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    part = {"request_id": "P1", "service": "sales", "status": "done", "counts": {"leads": 1},
            "data": {"leads": [{"id": "L1", "email": "ada@example.com"}]}}
    lead = {"id": "L1", "email": "ada@example.com"}
    events = [(1, "sales.privacy_part_completed.v1", part), (2, "sales.lead_created.v1", lead)]
    feed, deliveries = FeedEvent.__table__, Delivery.__table__
    with database_at("integration", "b53dd7bda89e", backend, tmp_path) as (engine, upgrade):
        with engine.begin() as conn:
            for seq, type_, data in events:
                envelope = {"event_id": f"e{seq}", "type": type_, "data": data}
                conn.execute(feed.insert().values(seq=seq, event_id=f"e{seq}", type=type_, producer="sales",
                                                  occurred_at=now, received_at=now, envelope=envelope))
                conn.execute(deliveries.insert().values(
                    id=f"d{seq}", webhook_id="w1", event_id=f"e{seq}", event_type=type_, seq=seq, record_key="k",
                    envelope=envelope, status="pending", attempts=0, created_at=now))
        upgrade()
        with engine.connect() as conn:
            kept = {row.seq: row.envelope["data"] for row in conn.execute(select(feed.c.seq, feed.c.envelope))}
            sent = {row.seq: row.envelope["data"]
                    for row in conn.execute(select(deliveries.c.seq, deliveries.c.envelope))}
    cut = {"request_id": "P1", "service": "sales", "status": "done", "counts": {"leads": 1}, "data": None}
    assert kept == sent == {1: cut, 2: lead}
