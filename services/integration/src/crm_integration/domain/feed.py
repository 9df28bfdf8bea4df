"""The event feed: every business event kept once, at its place in one global order, read from a cursor.

Order without gaps a poller could step over: a sequence number taken before commit can become visible after
a higher one (two consumers' transactions), and a poller that saw the higher one would skip the lower for
good. So the number is taken by updating the one counter row (`FeedCounter`), the last write of the
transaction: the row stays locked until commit, so the next number is given only once the previous one is
visible (on SQLite the database lock does the same). A cursor is the opaque form of a sequence number; the
feed answers the events after it, in order, and a next cursor that is never null.
"""
from __future__ import annotations

import base64
import binascii
import fnmatch
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from crm_common import scope
from crm_common.context import Context
from crm_common.db import utcnow
from crm_common.errors import validation
from crm_common.privacy import without_export
from crm_integration.models import FeedCounter, FeedEvent

CURSOR_PREFIX = "f1:"
TYPE_RE = re.compile(r"^[a-z_*]+(\.[a-z_*]+)?(\.(v[0-9]+|\*))?$")  # sales.lead_created.v1, sales.*, sales.lead_*, *
SCOPE_KEYS = ("owner_id", "team_id", "territory_id")


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The sequence number of a cursor ("" or None: before the first event); a foreign one is a 422."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()
        if text.startswith(CURSOR_PREFIX) and text[len(CURSOR_PREFIX):].isdigit():
            return int(text[len(CURSOR_PREFIX):])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise validation({"after": ["not a cursor of this feed"]})


def type_patterns(types: str | None) -> list[str]:
    """`sales.*,service_desk.ticket_opened.v1` -> the patterns; a malformed one is a 422 naming `types`."""
    patterns = [t.strip() for t in (types or "").split(",") if t.strip()]
    bad = [t for t in patterns if not TYPE_RE.match(t)]
    if bad:
        raise validation({"types": [f"not an event type or pattern: {bad[0][:80]}"]})
    return patterns


def matches(event_type: str, patterns: list[str]) -> bool:
    """Whether an event type is one the patterns name (`sales.*`, `*`, an exact type); no pattern: all."""
    return not patterns or any(fnmatch.fnmatchcase(event_type, p) for p in patterns)


def _scope_of(data: dict) -> dict:
    return {key: str(data[key]) if data.get(key) else None for key in SCOPE_KEYS}


def _occurred(envelope: dict) -> datetime:
    value = envelope.get("occurred_at")
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return utcnow()


_KEPT = select(FeedEvent.__table__.c.event_id).where(
    FeedEvent.__table__.c.event_id.in_(bindparam("event_ids", expanding=True)))
_INSERT = insert(FeedEvent.__table__)
_TAKE_SEQS = (update(FeedCounter.__table__).where(FeedCounter.__table__.c.id == 1)
              .values(value=FeedCounter.__table__.c.value + bindparam("count"))
              .returning(FeedCounter.__table__.c.value))


@dataclass(frozen=True, slots=True)
class Kept:
    """An event just kept in the feed, at its place: what the fan-out needs (not an ORM object)."""
    seq: int
    event_id: str
    type: str
    envelope: dict


def record(session: Session, envelope: dict) -> FeedEvent | None:
    """Keep one event in the feed at the next place (`record_many`): its row, or None when its id was already
    kept. (The consumer keeps its batches with `record_many`, which loads no row.)"""
    kept = record_many(session, [envelope])[0]
    return None if kept is None else session.get(FeedEvent, kept.seq)


def record_many(session: Session, envelopes: list[dict]) -> list[Kept | None]:
    """Keep events in the feed at the next places, in the order given (once: the service's inbox skips a
    repeat, and an event id already kept is left as it is: None in its place). Call it last in the transaction,
    or at least know that the counter row stays locked until commit. Three statements for any number of
    events: the lookup of the ids already kept, the counter moved on by their number (its lock held until
    commit: places become visible in order), and one insert of the rows (Core, no unit of work)."""
    if not envelopes:
        return []
    ids = list({e["event_id"] for e in envelopes})
    session.flush()  # Core statements do not autoflush: an event kept through the ORM in this transaction counts
    connection = session.connection()
    kept = set(connection.execute(_KEPT, {"event_ids": ids}).scalars())
    new = []  # the places in `envelopes` of the events to keep
    for place, envelope in enumerate(envelopes):
        if envelope["event_id"] not in kept:
            kept.add(envelope["event_id"])
            new.append(place)
    rows: list[Kept | None] = [None] * len(envelopes)
    if not new:
        return rows
    last, received = _take_seqs(session, len(new)), utcnow()
    values = []
    for seq, place in enumerate(new, start=last - len(new) + 1):
        envelope = without_export(envelopes[place])  # a privacy part's copy of the person's data: identity's alone
        data = envelope.get("data") if isinstance(envelope.get("data"), dict) else {}
        values.append({"seq": seq, "event_id": envelope["event_id"], "type": envelope["type"],
                       "producer": envelope.get("producer"), "occurred_at": _occurred(envelope),
                       "received_at": received, "envelope": envelope, **_scope_of(data)})
        rows[place] = Kept(seq, envelope["event_id"], envelope["type"], envelope)
    connection.execute(_INSERT, values)
    return rows


def _take_seqs(session: Session, count: int) -> int:
    """Move the counter on by `count`; the last place taken (the places are the `count` up to it)."""
    last = session.connection().execute(_TAKE_SEQS, {"count": count}).scalar()
    if last is None:  # the first events ever: the row is made (a racing first writer fails its insert and retries)
        session.add(FeedCounter(id=1, value=count))
        session.flush()
        last = count
    return last


def to_item(row: FeedEvent) -> dict:
    envelope = row.envelope or {}
    data = envelope.get("data")
    return {"cursor": encode_cursor(row.seq), "event_id": row.event_id, "type": row.type,
            "occurred_at": row.occurred_at, "producer": row.producer, "entity": envelope.get("entity"),
            "action": envelope.get("action"), "request_id": envelope.get("request_id"),
            "actor": _public_actor(envelope.get("actor")), "data": data if isinstance(data, dict) else {}}


def _public_actor(actor) -> dict | None:
    """Who caused an event, without the client's address (an integration sees ids, not where people sit)."""
    if not isinstance(actor, dict):
        return None
    return {k: actor[k] for k in ("user_id", "kind") if k in actor}


def page(ctx: Context, args: dict) -> dict:
    """The events after `args["after"]` that the caller may see, in feed order. A type filter with a wildcard
    is applied here (the few patterns a poller sends), an exact type in the query."""
    after = decode_cursor(args.get("after"))
    patterns = type_patterns(args.get("types"))
    limit = args.get("limit") or 100
    query = scope.visible(select(FeedEvent), ctx.caller, "event_feed", "read", FeedEvent)
    exact = [p for p in patterns if "*" not in p and p.count(".") == 2]
    if patterns and len(exact) == len(patterns):
        query = query.where(FeedEvent.type.in_(exact))
    items, last = [], after
    while len(items) < limit:
        rows = ctx.session.scalars(query.where(FeedEvent.seq > last).order_by(FeedEvent.seq)
                                   .limit(max(limit, 200))).all()
        if not rows:
            break
        for row in rows:
            last = row.seq
            if matches(row.type, patterns):
                items.append(to_item(row))
                if len(items) == limit:
                    break
    return {"items": items, "next_cursor": encode_cursor(last)}


def prune(session: Session, days: int, now: datetime | None = None) -> int:
    """Forget the events received more than `days` ago (the feed's retention); how many went."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    return session.execute(delete(FeedEvent).where(FeedEvent.received_at < cutoff)).rowcount or 0
