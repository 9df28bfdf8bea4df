"""The event envelope every event travels in."""
from __future__ import annotations

import os
from datetime import datetime, timezone

from crm_common.context import Actor

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


_RANDOM_BLOCK = 16 * 256  # bytes of os.urandom read at a time: 256 ids
_random_pool: list[int] = []
os.register_at_fork(after_in_child=_random_pool.clear)  # a forked child never hands out its parent's bits
_VERSION_4 = ~(0xF000 << 64 | 0xC000 << 48)  # the bits `uuid.UUID(version=4)` sets: the version, the variant


def new_event_id() -> str:
    """A random UUID (version 4) as text, as `str(uuid.uuid4())` gives it, its random bits from the operating
    system's generator read in blocks (not a call and a UUID object per event; list.pop is atomic)."""
    while True:
        try:
            value = _random_pool.pop()
            break
        except IndexError:
            block = os.urandom(_RANDOM_BLOCK)
            _random_pool.extend(int.from_bytes(block[start:start + 16], "big") for start in range(0, len(block), 16))
    text = f"{value & _VERSION_4 | 4 << 76 | 0x8000 << 48:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def make_envelope(type_: str, data: dict, producer: str, actor: Actor | None, request_id: str | None,
                  entity: str | None = None, action: str | None = None) -> dict:
    actor_data = None
    if actor is not None:
        actor_data = {"user_id": actor.user_id, "kind": actor.kind, "roles": list(actor.roles),
                      "team_id": actor.team_id, "client_ip": actor.client_ip}
        if actor.api_key_id:  # which integration did it (identity's audit keeps it)
            actor_data["api_key_id"] = actor.api_key_id
    return {
        "event_id": new_event_id(),
        "type": type_,
        "occurred_at": rfc3339(utcnow()),
        "producer": producer,
        "actor": actor_data,
        "request_id": request_id,
        "entity": entity,
        "action": action,
        "data": data,
    }


def is_envelope(body) -> bool:
    return isinstance(body, dict) and all(k in body for k in ENVELOPE_KEYS)
