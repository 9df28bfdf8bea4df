"""Upgrading a database whose support groups were saved before their events carried members announces each live
group once, with its members, through the outbox (analytics learns who reads a group's tickets without a save), on
SQLite and on PostgreSQL; a deleted group is not announced."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from crm_common.testing.checks import database_at

pytestmark = pytest.mark.integration
BEFORE = "38b5a0ad884d"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_live_groups_are_announced_once_with_their_members(backend, tmp_path):
    with database_at("service_desk", BEFORE, backend, tmp_path) as (engine, upgrade):
        now = datetime(2026, 11, 1, tzinfo=timezone.utc)
        with engine.begin() as conn:
            for group_id, members, deleted in (("g1", ["u1", "u2"], None), ("g2", [], None), ("g3", ["u3"], now)):
                conn.execute(sa.text(
                    "INSERT INTO sd_groups (id, name, assignment, member_ids, deleted_at, created_at, updated_at, "
                    "version) VALUES (:id, :name, 'none', :members, :deleted, :now, :now, 1)"),
                    {"id": group_id, "name": group_id.upper(), "members": json.dumps(members), "deleted": deleted,
                     "now": now})
        upgrade()
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT type, envelope, published_at FROM crm_outbox")).all()
        announced = {}
        for type_, envelope, published_at in rows:
            envelope = json.loads(envelope) if isinstance(envelope, str) else envelope
            assert type_ == envelope["type"] == "service_desk.config_updated.v1" and published_at is None
            assert envelope["entity"] == "group" and envelope["action"] == "update"
            announced[envelope["data"]["id"]] = envelope["data"]["member_ids"]
        assert announced == {"g1": ["u1", "u2"], "g2": []}
