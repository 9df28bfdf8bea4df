"""Events of one row in one batch leave it as the same events one a batch leave it; a later event's values win, an
older or repeated one only fills what is empty (events the consumers took out of order)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from crm_common.context import SYSTEM, Context
from crm_common.testing.events import Events

from crm_analytics.domain import log
from crm_analytics.models import GENERATIONS

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def _env(type_, data, hours):
    return {"event_id": str(uuid.uuid4()), "type": type_, "producer": type_.split(".")[0],
            "occurred_at": (T0 + timedelta(hours=hours)).isoformat().replace("+00:00", "Z"), "actor": None,
            "data": data}


def _ticket_events(id_):
    opened = _env("service_desk.ticket_opened.v1", {"id": id_, "number": id_, "status": "new", "channel": "email",
                                                    "assignee_id": "ag-1", "priority": None}, 0)
    assigned = _env("service_desk.ticket_assigned.v1", {"id": id_, "status": "open", "assignee_id": "ag-2"}, 1)
    solved = _env("service_desk.ticket_solved.v1", {"id": id_, "status": "solved", "priority": "high",
                                                    "solved_at": (T0 + timedelta(hours=5)).isoformat()}, 5)
    return opened, assigned, solved


def _ticket(session, id_):
    t = GENERATIONS["a"].tickets
    row = session.execute(select(t).where(t.c.id == id_)).mappings().one()
    return {k: row[k] for k in ("number", "status", "channel", "owner_id", "priority", "solved_at", "event_at",
                                "created_at", "reopened")}


def test_a_ticket_ends_as_its_events_one_by_one_leave_it_in_one_batch_late_or_twice(session):
    system = Context(session, SYSTEM, Events(), "r")
    opened, assigned, solved = _ticket_events("t-one")
    for env in (opened, assigned, solved):
        log.keep_many(system, [env])
    expected = _ticket(session, "t-one")
    assert (expected["status"], expected["owner_id"], expected["priority"]) == ("solved", "ag-2", "high")

    opened, assigned, solved = _ticket_events("t-batch")  # the three in one batch
    log.keep_many(system, [opened, assigned, solved])
    assert _ticket(session, "t-batch") == {**expected, "number": "t-batch"}

    opened, assigned, solved = _ticket_events("t-late")  # the newest first, then the older ones, one a batch
    log.keep_many(system, [opened])
    log.keep_many(system, [solved])
    log.keep_many(system, [assigned])  # older than the row's: fills nothing (every field it has is set)
    log.keep_many(system, [{**solved, "event_id": str(uuid.uuid4())}])  # the same change delivered twice
    assert _ticket(session, "t-late") == {**expected, "number": "t-late", "owner_id": "ag-1"}

    opened, assigned, solved = _ticket_events("t-fill")  # an older event fills what the row lacks
    log.keep_many(system, [solved, _env("marketing.email_sent.v1", {"campaign_id": "c-1"}, 6)])
    log.keep_many(system, [opened])
    row = _ticket(session, "t-fill")
    assert (row["status"], row["channel"], row["number"], row["priority"]) == ("solved", "email", "t-fill", "high")
    assert row["event_at"] == T0 + timedelta(hours=5)
