from __future__ import annotations

import pytest
from marshmallow import Schema, fields
from nameko.exceptions import deserialize, serialize

from crm_common.contracts import EVENTS, event, validate_event_data
from crm_common.contracts.platform import PROBE_EMITTED
from crm_common.context import Actor
from crm_common.envelope import ENVELOPE_KEYS, is_envelope, make_envelope
from crm_common.errors import CODES, ServiceError


class Thing(Schema):
    id = fields.String(required=True)


def test_event_types_are_versioned_and_declared_once():
    type_ = event("testing", "thing_happened", 1, Thing, entity="thing", action="create")
    assert type_ == "testing.thing_happened.v1"
    assert EVENTS[type_].entity == "thing"
    assert event("testing", "thing_happened", 1, Thing) == type_  # same schema again is harmless

    class Other(Schema):
        id = fields.Integer()

    with pytest.raises(ValueError):
        event("testing", "thing_happened", 1, Other)
    with pytest.raises(ValueError):
        event("Testing", "Bad Name", 1, Thing)


def test_event_data_is_checked_against_its_contract():
    assert validate_event_data(PROBE_EMITTED, {"key": "k"}) == {}
    assert "key" in validate_event_data(PROBE_EMITTED, {"seq": 1})
    with pytest.raises(KeyError):
        validate_event_data("nobody.nothing.v1", {})


def test_envelope_carries_who_and_which_request():
    actor = Actor(user_id="u1", roles=("sales_rep",), team_id="t1", client_ip="10.0.0.1",
                  perms={"lead": {"read": "own"}})
    envelope = make_envelope(PROBE_EMITTED, {"key": "k"}, "probe", actor, "req-1")
    assert set(envelope) == set(ENVELOPE_KEYS) | {"entity", "action"} and is_envelope(envelope)
    assert envelope["actor"] == {"user_id": "u1", "kind": "user", "roles": ["sales_rep"], "team_id": "t1",
                                 "client_ip": "10.0.0.1"}  # no permissions in events
    assert envelope["request_id"] == "req-1" and envelope["occurred_at"].endswith("Z")


def test_service_errors_cross_rpc_as_themselves():
    error = ServiceError("conflict", "duplicate", errors={"email": ["taken"]},
                         extra={"duplicates": ["a"], "retry_after": 30, "mfa_required": True})
    again = deserialize(serialize(error))
    assert isinstance(again, ServiceError)
    assert (again.code, again.detail, again.errors, again.extra) == ("conflict", "duplicate", {"email": ["taken"]},
                                                                     {"duplicates": ["a"], "retry_after": 30,
                                                                      "mfa_required": True})
    assert again.status == 409
    with pytest.raises(ValueError):
        ServiceError("no_such_code")
    assert CODES["validation_failed"][0] == 422 and CODES["timeout"][0] == 503


def test_an_envelope_occurs_at_the_clocks_time_to_the_microsecond_whichever_way_it_moves():
    """`occurred_at` (envelope.now_text: its second's text kept a second) is rfc3339 of the clock's time, a second
    later, an hour earlier and a day later alike."""
    from datetime import datetime, timedelta, timezone

    import time_machine

    from crm_common.envelope import now_text, rfc3339
    start = datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=timezone.utc)
    for moved in (timedelta(0), timedelta(microseconds=1), timedelta(seconds=1, microseconds=7), timedelta(hours=-1),
                  timedelta(days=1, microseconds=-999999)):
        with time_machine.travel(start + moved, tick=False):
            assert now_text() == rfc3339(start + moved)
            assert make_envelope(PROBE_EMITTED, {}, "probe", None, None)["occurred_at"] == rfc3339(start + moved)
    before = rfc3339(datetime.now(timezone.utc))
    made = now_text()
    assert before <= made <= rfc3339(datetime.now(timezone.utc)) and made.endswith("Z") and len(made) == 27
