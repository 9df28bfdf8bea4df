from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crm_common.entrypoint import Context
from crm_common.envelope import rfc3339
from crm_common.errors import ServiceError
import crm_sales_contracts as c
from crm_sales.domain import accounts, activities, call_lists, contacts
from crm_sales.models import Activity

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def meeting(session, who, events, start, hours=1, **extra):
    return activities.create(Context(session, who, events), {"type": "meeting", "subject": "Sync", "starts_at": start,
                                                             "ends_at": start + timedelta(hours=hours), **extra})


def test_overlapping_meetings_of_a_participant_are_a_conflict(session, team, events):
    first = meeting(session, team["r1"], events, T0, participant_ids=["r2"])
    with pytest.raises(ServiceError) as clash:
        meeting(session, team["r2"], events, T0 + timedelta(minutes=30))
    assert clash.value.code == "conflict"
    assert clash.value.extra["conflicts"] == [{"id": first.id, "subject": None, "starts_at": rfc3339(T0),
                                               "ends_at": rfc3339(T0 + timedelta(hours=1)),
                                               "participant_ids": ["r2"]}]
    meeting(session, team["r2"], events, T0 + timedelta(hours=1))  # back to back is fine
    forced = meeting(session, team["r2"], events, T0, allow_conflict=True)
    assert forced.id and len(events.of(c.ACTIVITY_LOGGED)) == 3


def test_shapes_of_activities(session, team, events, ctx):
    with pytest.raises(ServiceError) as task:
        activities.create(ctx(team["r1"]), {"type": "task", "subject": "x"})
    assert "due_at" in task.value.errors
    with pytest.raises(ServiceError) as note:
        activities.create(ctx(team["r1"]), {"type": "note", "subject": "x", "outcome": "connected"})
    assert "outcome" in note.value.errors


def test_call_with_callback_schedules_a_follow_up(session, team, events, ctx):
    call = activities.create(ctx(team["r1"]), {"type": "call", "subject": "Intro", "outcome": "callback_requested",
                                               "duration_seconds": 95, "callback_at": T0})
    planned = session.query(Activity).filter(Activity.id != call.id).one()
    assert (planned.type, planned.status, planned.starts_at, planned.owner_id) == ("call", "open", T0, "r1")


def test_calendar_of_a_user_and_a_team(session, team, events, ctx):
    meeting(session, team["r1"], events, T0, participant_ids=["r2"])
    activities.create(ctx(team["r2"]), {"type": "task", "subject": "Offer", "due_at": T0 + timedelta(days=1)})
    window = {"from": T0 - timedelta(days=1), "to": T0 + timedelta(days=7)}
    mine = activities.calendar(ctx(team["r2"]), window)["items"]
    assert sorted(a.subject for a in mine) == ["Offer", "Sync"]
    assert [a.subject for a in activities.calendar(ctx(team["r1"]), window)["items"]] == ["Sync"]
    with pytest.raises(ServiceError):  # a rep does not read a colleague's calendar
        activities.calendar(ctx(team["r1"]), {**window, "user_id": "r2"})["items"]
    assert len(activities.calendar(ctx(team["m1"]), {**window, "team_id": "t1"})["items"]) == 2


def test_call_lists_skip_do_not_call_and_log_outcomes(session, team, events, ctx):
    account = accounts.create(ctx(team["r1"]), {"name": "Acme", "country": "DE"})
    ok = contacts.create(ctx(team["r1"]), {"account_id": account.id, "last_name": "Ok", "phone": "+49301234567"})
    blocked = contacts.create(ctx(team["r1"]), {"account_id": account.id, "last_name": "No",
                                                "phone": "+49301234568", "do_not_call": True})
    call_list = call_lists.create(ctx(team["r1"]), {"name": "Q4", "account_id": account.id})
    assert [x["contact_id"] for x in call_list.items] == [ok.id]
    assert call_list.skipped == [{"contact_id": blocked.id, "reason": "do_not_call"}]
    with pytest.raises(ServiceError):
        call_lists.log_call(ctx(team["r1"]), call_list.id, {"contact_id": blocked.id, "outcome": "connected"})
    done = call_lists.log_call(ctx(team["r1"]), call_list.id, {"contact_id": ok.id, "outcome": "interested",
                                                               "duration_seconds": 120})
    assert done.items[0]["status"] == "called" and done.items[0]["outcome"] == "interested"
    assert session.get(Activity, done.items[0]["activity_id"]).duration_seconds == 120
