"""The append-only event log and the live projection: every event the queue takes is kept (idempotent by
event id: the kernel's inbox claims it in the same transaction), then projected into the active generation."""
from __future__ import annotations

import hashlib
import logging

from sqlalchemy import func, select

from crm_common.bulk import insert_rows
from crm_common.db import utcnow

from crm_analytics.models import EVENTS, GENERATIONS, STATE
from crm_analytics.projections import project_many
from crm_analytics.projections.base import when

log = logging.getLogger(__name__)


def state(conn, lock: str | None = None):
    """The state row (made on first use). A live event takes it for update until its commit: projections run
    one at a time (two events of one change, consumed at once, each see the other), and a rebuild's switch
    waits for events being projected into the old generation (domain/rebuild.py)."""
    query = select(STATE).where(STATE.c.id == 1)
    if lock == "share":
        query = query.with_for_update(read=True)
    elif lock == "update":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        from crm_common.db import insert_or_skip
        conn.execute(insert_or_skip(STATE, ("id",)), {"id": 1, "active": "a", "rebuilding": None,
                                                      "rebuild_job_id": None, "rebuilt_at": None})
        row = conn.execute(query).first()
    return row


def active(conn):
    """The tables of the generation that answers now."""
    return GENERATIONS[state(conn).active]


def _account_of(envelope: dict, data: dict) -> str | None:
    """The account an event is about (`data`: its data, a dict)."""
    if data.get("account_id"):
        return str(data["account_id"])[:64]
    if data.get("id") and (envelope.get("entity") == "account" or envelope.get("type", "").startswith("sales.account_")):
        return str(data["id"])[:64]
    return None


# personal data no figure needs is not kept: the log is business facts (an address kept as its hash, which a
# privacy request finds: domain/privacy.py)
PERSONAL = frozenset(("email", "requester_email", "phone", "mobile", "first_name", "last_name", "requester_name",
                      "comment", "body", "address", "street", "birthday", "text", "message", "ip", "user_agent"))


_NESTED = frozenset((dict, list))  # what decoded JSON nests


def redacted(value):
    """`value` with the personal fields of every object in it dropped (an email address kept as its hash)."""
    if isinstance(value, list):
        return [redacted(item) if isinstance(item, (dict, list)) else item for item in value]
    if not isinstance(value, dict):
        return value
    if PERSONAL.isdisjoint(value) and _NESTED.isdisjoint(map(type, value.values())):
        return value  # most objects: flat and without personal fields, kept as they are (never changed later)
    out = {}
    for key, item in value.items():
        if key in PERSONAL:
            if key.endswith("email") and isinstance(item, str) and item:
                out[f"{key}_hash"] = hashlib.sha256(item.strip().lower().encode()).hexdigest()
            continue
        out[key] = redacted(item) if isinstance(item, (dict, list)) else item
    return out


def row_of(envelope: dict, now=None) -> dict:
    """The log row of an envelope: kept whole but for personal data (a projection added later can still read
    it). `now`: when it is received (a batch's events are received together)."""
    actor, data = envelope.get("actor"), redacted(envelope.get("data"))
    actor = ({k: actor[k] for k in ("user_id", "kind") if k in actor} or None) if isinstance(actor, dict) else None
    envelope = {**envelope, "data": data, "actor": actor}
    if not isinstance(data, dict):
        data = {}
    type_, entity, now, id_ = str(envelope["type"]), envelope.get("entity"), now or utcnow(), data.get("id")
    return {"event_id": str(envelope["event_id"])[:64], "type": type_[:120],
            "producer": str(envelope.get("producer") or type_.split(".", 1)[0])[:40],
            "entity": str(entity)[:40] if entity else None, "entity_id": str(id_)[:64] if id_ else None,
            "account_id": _account_of(envelope, data), "actor_id": (actor or {}).get("user_id") or None,
            "occurred_at": when(envelope.get("occurred_at")) or now, "received_at": now, "envelope": envelope}


def keep_many(ctx, envelopes: list) -> list:
    """The event stream's `every_batch` hook (`every_claims`): log the events not logged before (the log is
    unique by event id: it is the record of what was taken, so a redelivery has no second effect), then project
    them into the active read models (one bulk write per model), in the consumer's transaction; the events new
    to the log, each once, in order. An event that fails fails the batch; the stream then applies its events
    one by one, so the others are kept and only that one is retried and dead-lettered."""
    if not envelopes:
        return []
    conn = ctx.session
    current = state(conn, lock="update")  # one projection at a time: each sees the ones before it
    firsts: dict = {}
    for envelope in envelopes:
        firsts.setdefault(envelope["event_id"], envelope)
    now = utcnow()
    kept = [(envelope, row_of(envelope, now)) for envelope in firsts.values()]
    logged = _log(conn, [row for _, row in kept])
    if logged is not None:
        kept = [(envelope, row) for envelope, row in kept if row["event_id"] in logged]
    for _, row in kept:  # the projections get the time parsed once (the log, written now, keeps the producer's text)
        row["envelope"]["occurred_at"] = row["occurred_at"]
    project_many(conn, GENERATIONS[current.active], [row["envelope"] for _, row in kept])
    return [envelope for envelope, _ in kept]


def _log(session, rows: list[dict]) -> set | None:
    """Insert the log rows of events not logged before; the ids of those inserted (None: all). PostgreSQL: one
    COPY in a savepoint (a redelivered event is rare: its id, unique, fails the COPY, and the batch is then
    inserted skipping the ids logged before); elsewhere (and then) one INSERT ... ON CONFLICT DO NOTHING
    RETURNING."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from psycopg2 import errors
        try:
            with session.begin_nested():
                insert_rows(session, EVENTS, rows)
            return None
        except errors.UniqueViolation:
            from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(EVENTS).on_conflict_do_nothing(index_elements=["event_id"]).returning(EVENTS.c.event_id)
    return set(session.connection().execute(statement, rows).scalars())


def keep(ctx, envelope: dict) -> None:
    """One event: `keep_many` of it."""
    keep_many(ctx, [envelope])


def status(ctx) -> dict:
    """How far the read models are: events kept, the newest, the lag of the last ones, the generation, a rebuild."""
    conn = ctx.session
    current = state(conn)
    total, newest = conn.execute(select(func.count(), func.max(EVENTS.c.seq))).one()
    recent = conn.execute(select(EVENTS.c.occurred_at, EVENTS.c.received_at, EVENTS.c.type)
                          .order_by(EVENTS.c.seq.desc()).limit(200)).all()
    lags = sorted(max(0.0, (r.received_at - r.occurred_at).total_seconds()) for r in recent)
    by_type = conn.execute(select(EVENTS.c.type, func.count()).group_by(EVENTS.c.type)).all()
    from crm_analytics.projections import PROJECTORS
    return {"events": int(total or 0), "last_seq": int(newest or 0),
            "last_event_at": recent[0].occurred_at if recent else None,
            "lag_p50_seconds": _quantile(lags, 0.5), "lag_p99_seconds": _quantile(lags, 0.99),
            "generation": current.active, "rebuild_job_id": current.rebuild_job_id,
            "rebuilding": current.rebuilding is not None, "rebuilt_at": current.rebuilt_at,
            "unprojected_types": sorted(t for t, _ in by_type if t not in PROJECTORS)}


def _quantile(values: list, q: float):
    if not values:
        return None
    return round(values[min(len(values) - 1, int(q * len(values)))], 3)
