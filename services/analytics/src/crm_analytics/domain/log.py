"""The append-only event log and the live projection: every event the queue takes is kept (idempotent by
event id: the log, unique by it, claims it), then projected into the active generation, in one transaction."""
from __future__ import annotations

import hashlib
import logging

from sqlalchemy import func, select

from crm_common import heap, prepared
from crm_common.bulk import prepare
from crm_common.db import utcnow
from crm_common.privacy import without_export

from crm_analytics.models import EVENTS, GENERATIONS, STATE
from crm_analytics.projections import Conflict, project_beside, project_reading
from crm_analytics.projections.base import when
from crm_analytics.projections.upserts import insert_for

log = logging.getLogger(__name__)


_STATE = select(STATE).where(STATE.c.id == 1)
_STATE_LOCKED = {None: _STATE, "share": _STATE.with_for_update(read=True), "update": _STATE.with_for_update()}


def state(conn, lock: str | None = None):
    """The state row (made on first use). A live event takes it for update until its commit: projections run
    one at a time (two events of one change, consumed at once, each see the other), and a rebuild's switch
    waits for events being projected into the old generation (domain/rebuild.py)."""
    query = _STATE_LOCKED[lock]
    row = conn.execute(query).first()
    if row is None:
        from crm_common.db import insert_or_skip
        conn.execute(insert_or_skip(STATE, ("id",)), {"id": 1, "active": "a", "rebuilding": None,
                                                      "rebuild_job_id": None, "rebuilt_at": None})
        row = conn.execute(query).first()
    return row


_LOCKED = [(f'SELECT active FROM "{STATE.name}" WHERE id = 1 FOR UPDATE', {})]


def _locked_in_savepoint(conn) -> str:
    """PostgreSQL: the savepoint `an_keep`, then the state row taken for update (`state`) in it, in one round trip
    on the driver's cursor (the lock's statement prepared once per connection); the active generation."""
    row = prepared.send(conn, _LOCKED, first="SAVEPOINT an_keep")
    return row[0] if row is not None else state(conn, lock="update").active


def active(conn):
    """The tables of the generation that answers now."""
    return GENERATIONS[state(conn).active]


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
    envelope, now = without_export(envelope), now or utcnow()  # a privacy part's copy of the person's data: not kept
    get = envelope.get
    data, actor = get("data"), get("actor")
    if data.__class__ is not dict or not (PERSONAL.isdisjoint(data) and _NESTED.isdisjoint(map(type, data.values()))):
        data = redacted(data)  # (a flat object without personal fields, the rule, is kept as it is)
    if actor.__class__ is dict and "kind" not in actor:  # the usual actor: its user id alone
        user = actor.get("user_id")
        actor = {"user_id": user} if "user_id" in actor else None
    elif isinstance(actor, dict):
        actor = {k: actor[k] for k in ("user_id", "kind") if k in actor} or None
        user = actor.get("user_id") if actor else None
    else:
        actor = user = None
    envelope = {**envelope, "data": data, "actor": actor}
    if not isinstance(data, dict):
        data = {}
    type_, entity, id_ = str(envelope["type"]), get("entity"), data.get("id")
    account = data.get("account_id")  # the account the event is about
    if account:
        account = str(account)[:64]
    elif id_ and (entity == "account" or type_.startswith("sales.account_")):
        account = str(id_)[:64]
    else:
        account = None
    producer = get("producer")
    return {"event_id": str(envelope["event_id"])[:64], "type": type_[:120],
            "producer": str(producer or type_.split(".", 1)[0])[:40],
            "entity": str(entity)[:40] if entity else None, "entity_id": str(id_)[:64] if id_ else None,
            "account_id": account, "actor_id": user or None,
            "occurred_at": when(get("occurred_at")) or now, "received_at": now,
            "envelope": envelope}


def keep_many(ctx, envelopes: list) -> list:
    """The event stream's `every_batch` hook (`every_claims`): log the events not logged before (the log is
    unique by event id: it is the record of what was taken, so a redelivery has no second effect), then project
    them into the active read models (one bulk write per model), in the consumer's transaction; the events new
    to the log, each once, in order. An event that fails fails the batch; the stream then applies its events
    one by one, so the others are kept and only that one is retried and dead-lettered. No garbage collection
    runs meanwhile (`heap.paused`): what a batch makes, reference counting frees at its end."""
    if not envelopes:
        return []
    with heap.paused():
        return _keep_many(ctx.session, envelopes)


def _keep_many(session, envelopes: list) -> list:
    """`keep_many`'s work."""
    conn = session.connection()  # Core statements: not the ORM's execution path
    postgresql = conn.dialect.name == "postgresql"
    # one projection at a time (the state row's lock): each sees the ones before it
    t = GENERATIONS[_locked_in_savepoint(conn) if postgresql else state(conn, lock="update").active]
    now = utcnow()
    firsts, rows = _first_rows(envelopes, now)
    if postgresql:
        from psycopg2 import errors
        # as a rule every event is new and every record a creation names absent: one savepoint for both (opened
        # with the lock), left to the commit (no RELEASE: a round trip less)
        try:
            memo: dict = {}  # the times the log's COPY formats, the models' rows repeat
            send = prepare(conn.dialect, EVENTS, rows, memo)  # formatted before `_parsed` parses the times
            # the projections computed while the server takes the log's rows (then written)
            project_beside(session, t, _parsed(rows), send, memo)
            return firsts
        except (errors.UniqueViolation, Conflict):  # an event logged before, or such a record there
            conn.exec_driver_sql("ROLLBACK TO SAVEPOINT an_keep")  # the lock, taken after it, too: again
            t = GENERATIONS[state(conn, lock="update").active]
            firsts, rows = _first_rows(firsts, now)  # the rows again: the projections read their envelopes
    logged = _log(conn, rows)
    kept = [(envelope, row) for envelope, row in zip(firsts, rows) if row["event_id"] in logged]
    project_reading(session, t, _parsed([row for _, row in kept]))
    return [envelope for envelope, _ in kept]


def _first_rows(envelopes: list, now) -> tuple[list, list]:
    """The envelopes, each event id's first alone, in order, and their log rows (`row_of`)."""
    seen: set = set()
    firsts, rows = [], []
    for envelope in envelopes:
        event_id = envelope["event_id"]
        if event_id not in seen:
            seen.add(event_id)
            firsts.append(envelope)
            rows.append(row_of(envelope, now))
    return firsts, rows


def _parsed(rows: list) -> list[dict]:
    """The logged envelopes, for the projections, with the time parsed once (set once the log, which keeps the
    producer's text, is written)."""
    envelopes = []
    for row in rows:
        envelope = row["envelope"]
        envelope["occurred_at"] = row["occurred_at"]
        envelopes.append(envelope)
    return envelopes


def _log(conn, rows: list[dict]) -> set:
    """Insert the log rows of events not logged before (one INSERT ... ON CONFLICT DO NOTHING RETURNING); the ids
    of those inserted. (PostgreSQL's rule, every event new, is a COPY: `keep_many`.)"""
    statement = insert_for(conn.dialect.name)(EVENTS).on_conflict_do_nothing(index_elements=["event_id"]).returning(EVENTS.c.event_id)
    return set(conn.execute(statement, rows).scalars())


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
