"""Activity reminders: an open call, meeting or task whose remind_at has come is announced once; moving
remind_at arms it again; done, cancelled and deleted activities never remind."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crm_common.context import SYSTEM
from crm_common.entrypoint import Context
from crm_common.envelope import rfc3339
from crm_common.errors import ServiceError
import crm_sales_contracts as c
from crm_sales.domain import activities

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)


def task(session, who, events, remind_at=T0, **extra):
    return activities.create(Context(session, who, events), {"type": "task", "subject": "Send the offer",
                                                             "due_at": T0 + timedelta(hours=2), "remind_at": remind_at,
                                                             **extra})


def scan(session, events, now, **kw) -> int:
    return activities.send_due_reminders(Context(session, SYSTEM, events), now, **kw)


def test_a_due_reminder_goes_out_once(session, team, events):
    reminded = task(session, team["r1"], events)
    assert scan(session, events, T0 - MINUTE) == 0  # not yet
    assert scan(session, events, T0 + MINUTE) == 1
    assert reminded.reminded_at == T0 + MINUTE
    assert events.of(c.ACTIVITY_REMINDER_DUE) == [{
        **activities.event_data(reminded), "due_at": rfc3339(T0 + timedelta(hours=2)),
        "remind_at": rfc3339(T0)}]
    assert scan(session, events, T0 + 2 * MINUTE) == 0
    assert len(events.of(c.ACTIVITY_REMINDER_DUE)) == 1


def test_moving_remind_at_arms_the_reminder_again(session, team, events, ctx):
    reminded = task(session, team["r1"], events)
    scan(session, events, T0)
    activities.update(ctx(team["r1"]), reminded.id, {"remind_at": T0})  # unchanged: stays sent
    assert reminded.reminded_at == T0 and scan(session, events, T0 + MINUTE) == 0
    activities.update(ctx(team["r1"]), reminded.id, {"remind_at": T0 + timedelta(hours=1)})
    assert reminded.reminded_at is None
    assert scan(session, events, T0 + 30 * MINUTE) == 0
    assert scan(session, events, T0 + timedelta(hours=1)) == 1
    assert [e["remind_at"] for e in events.of(c.ACTIVITY_REMINDER_DUE)] == [
        rfc3339(T0), rfc3339(T0 + timedelta(hours=1))]


def test_done_cancelled_deleted_and_unset_never_remind(session, team, events, ctx):
    done = task(session, team["r1"], events)
    cancelled = task(session, team["r1"], events)
    deleted = task(session, team["r1"], events)
    task(session, team["r1"], events, remind_at=None)
    activities.update(ctx(team["r1"]), done.id, {"status": "done"})
    activities.update(ctx(team["r1"]), cancelled.id, {"status": "cancelled"})
    activities.delete(ctx(team["m1"]), deleted.id)
    assert scan(session, events, T0 + timedelta(days=30)) == 0
    assert events.of(c.ACTIVITY_REMINDER_DUE) == []


def test_calls_and_meetings_remind_notes_cannot_have_a_reminder(session, team, events, ctx):
    activities.create(ctx(team["r1"]), {"type": "call", "subject": "Call Ada", "remind_at": T0})
    activities.create(ctx(team["r1"]), {"type": "meeting", "subject": "Demo", "starts_at": T0 + timedelta(hours=1),
                                        "ends_at": T0 + timedelta(hours=2), "remind_at": T0})
    with pytest.raises(ServiceError) as note:
        activities.create(ctx(team["r1"]), {"type": "note", "subject": "Met Ada", "remind_at": T0})
    assert note.value.code == "validation_failed" and list(note.value.errors) == ["remind_at"]
    plain = activities.create(ctx(team["r1"]), {"type": "note", "subject": "Met Ada"})
    with pytest.raises(ServiceError) as later:
        activities.update(ctx(team["r1"]), plain.id, {"remind_at": T0})
    assert list(later.value.errors) == ["remind_at"]
    assert events.of(c.ACTIVITY_REMINDER_DUE) == []
    assert scan(session, events, T0) == 2
    assert sorted(e["type"] for e in events.of(c.ACTIVITY_REMINDER_DUE)) == ["call", "meeting"]


def test_a_scan_takes_one_batch_the_oldest_first(session, team, events):
    later = task(session, team["r1"], events, remind_at=T0)
    first = task(session, team["r1"], events, remind_at=T0 - timedelta(hours=1))
    assert scan(session, events, T0, limit=1) == 1
    assert scan(session, events, T0, limit=1) == 1
    assert scan(session, events, T0, limit=1) == 0
    assert [e["id"] for e in events.of(c.ACTIVITY_REMINDER_DUE)] == [first.id, later.id]
