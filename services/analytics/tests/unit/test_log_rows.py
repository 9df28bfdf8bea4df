"""The log row of an event (`log.row_of`): the columns the log is searched by, and what it keeps of the actor."""
from __future__ import annotations

from datetime import datetime, timezone

from crm_analytics.domain import log

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def env(type_, data, **more):
    return {"event_id": "e-1", "type": type_, "occurred_at": "2026-02-01T10:00:00Z", "actor": {"user_id": "u-1"},
            "data": data, **more}


def test_a_log_row_names_the_account_an_event_is_about():
    assert log.row_of(env("sales.order_placed.v1", {"id": "o-1", "account_id": "acc-1"}), NOW)["account_id"] == "acc-1"
    assert log.row_of(env("sales.account_created.v1", {"id": "acc-2"}), NOW)["account_id"] == "acc-2"
    assert log.row_of(env("sales.record_changed.v1", {"id": "acc-3"}, entity="account"), NOW)["account_id"] == "acc-3"
    assert log.row_of(env("sales.lead_created.v1", {"id": "l-1"}), NOW)["account_id"] is None
    assert log.row_of(env("sales.lead_created.v1", {"id": "l-1", "account_id": "a" * 80}), NOW)["account_id"] == "a" * 64


def test_a_log_row_keeps_the_actor_id_and_kind_alone_and_the_producer_time_or_the_receipt():
    row = log.row_of(env("sales.lead_created.v1", {"id": "l-1"}, actor={"user_id": "u-1", "roles": ["admin"]}), NOW)
    assert row["actor_id"] == "u-1" and row["envelope"]["actor"] == {"user_id": "u-1"}
    assert row["occurred_at"] == datetime(2026, 2, 1, 10, 0, tzinfo=timezone.utc) and row["received_at"] == NOW
    assert (row["event_id"], row["type"], row["producer"], row["entity_id"]) == ("e-1", "sales.lead_created.v1",
                                                                                "sales", "l-1")
    system = log.row_of(env("x.y.v1", {}, actor={"kind": "system", "token": "t"}, occurred_at=None), NOW)
    assert system["actor_id"] is None and system["envelope"]["actor"] == {"kind": "system"}
    assert system["occurred_at"] == NOW and system["entity_id"] is None
    assert log.row_of(env("x.y.v1", None, actor="someone"), NOW)["actor_id"] is None


def test_a_batch_keeps_each_event_id_once_in_order():
    first, second = env("x.y.v1", {"id": "1"}), env("x.y.v1", {"id": "2"}, event_id="e-2")
    firsts, rows = log._first_rows([first, second, first, second], NOW)
    assert firsts == [first, second] and [r["entity_id"] for r in rows] == ["1", "2"]
    assert first["actor"] == {"user_id": "u-1"} and first["occurred_at"] == "2026-02-01T10:00:00Z"  # not changed
