"""The event envelope every event travels in."""
from __future__ import annotations

import time
from datetime import datetime, timezone

from crm_common.context import Actor
from crm_common.ids import new_ordered_id

ENVELOPE_KEYS = ("event_id", "type", "occurred_at", "producer", "actor", "request_id", "data")
# and `entity`, `action`: the resource and the change an event records (None when it records no change to
# a record); optional in what is read, as envelopes written before they existed may still be replayed


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def rfc3339(value: datetime) -> str:
    """`2026-11-23T08:00:00.000000Z`: in UTC (a naive value is taken as UTC). Every timestamp of every dumped
    record goes through here; a value already in UTC, the usual case, is not converted again."""
    if value.tzinfo is None:
        return value.isoformat(timespec="microseconds") + "Z"
    if value.tzinfo is not timezone.utc:
        value = value.astimezone(timezone.utc)
    return value.isoformat(timespec="microseconds")[:-6] + "Z"  # "+00:00" -> "Z"


_time_ns = time.time_ns
_second = (-1, "")  # the latest second a time was written for, and its text up to the fraction's dot


def now_text() -> str:
    """`rfc3339(utcnow())`, the time an event occurred: the text of its second written once a second, then only
    its microseconds."""
    global _second
    second, fraction = divmod(_time_ns() // 1000, 1_000_000)
    written = _second
    if second != written[0]:
        written = _second = second, time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))
    return f"{written[1]}{fraction:06d}Z"


def new_event_id() -> str:
    """A time-ordered UUID (version 7, `ids.new_ordered_id`) as text: every inbox, outbox, event log and audit
    trail is keyed or uniquely indexed by event id, and ids made later go in at the right-hand end of those
    indexes instead of at random leaves. Event ids are not secrets: the envelope carries `occurred_at` anyway."""
    return new_ordered_id()


def make_envelope(type_: str, data: dict, producer: str, actor: Actor | None, request_id: str | None,
                  entity: str | None = None, action: str | None = None) -> dict:
    actor_data = None
    if actor is not None:
        actor_data = {"user_id": actor.user_id, "kind": actor.kind, "roles": list(actor.roles),
                      "team_id": actor.team_id, "client_ip": actor.client_ip}
        if actor.api_key_id:  # which integration did it (identity's audit keeps it)
            actor_data["api_key_id"] = actor.api_key_id
    return {
        "event_id": new_ordered_id(),  # new_event_id's, without a call more
        "type": type_,
        "occurred_at": now_text(),
        "producer": producer,
        "actor": actor_data,
        "request_id": request_id,
        "entity": entity,
        "action": action,
        "data": data,
    }


def is_envelope(body) -> bool:
    return isinstance(body, dict) and all(k in body for k in ENVELOPE_KEYS)
