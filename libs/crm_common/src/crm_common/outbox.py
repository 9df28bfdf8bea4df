"""Transactional outbox: events are rows written in the business transaction, published after commit.

Right after the commit the writer publishes its own events from memory (no read, no lock held while
the broker confirms; a transaction's events confirmed together) and marks them: in a service, together
with other writers' a few times a second (`Marks`), else in one short transaction. A relay publishes whatever that left
behind (a broker away, a crash between commit and publish): rows unpublished for longer than a grace
period (CRM_OUTBOX_RELAY_GRACE, 2 s), so it does not race the writer for rows in flight; its rows are
claimed with FOR UPDATE SKIP LOCKED so several replicas can relay at once without publishing the
same row twice (SQLite serializes writers). A row published twice (a crash between publish and
mark) is one effect: consumers keep an inbox of event ids.
"""
from __future__ import annotations

import collections
import functools
import logging
import threading
from datetime import timedelta

from marshmallow import ValidationError, fields
from sqlalchemy import Column, MetaData, Table, bindparam, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crm_common import bulk, config, documents, folded, jsontext, metrics, scope, tables, tracing
from crm_common.contracts.registry import event_contract, instance, validate_event_data
from crm_common.context import Actor
from crm_common.db import utcnow
from crm_common.envelope import make_envelope

log = logging.getLogger(__name__)


def _table(metadata):
    return metadata.tables[tables.OUTBOX]


@functools.lru_cache(maxsize=None)
def _insert_statement(table):
    """The outbox's insert, built once per table (as the mark, below): a statement built per call with .values()
    is compiled from its cache only after its cache key is worked out again, each time."""
    return table.insert()


@functools.lru_cache(maxsize=None)
def _mark_statement(table, dialect_name: str):
    """The mark of published rows (a publish's events are marked up to 500 at once: on PostgreSQL the ids are one
    array, `scope.one_of`)."""
    return (update(table).where(scope.one_of(table.c.event_id, dialect_name == "postgresql", "ids"),
                                table.c.published_at.is_(None)).values(published_at=bindparam("now")))


def _stamp(now, dialect_name: str):
    """The rows' time as `_recorded_insert` binds it: a UTC datetime, on PostgreSQL its ISO text (read into the
    timestamptz column as the same instant whatever the session's time zone)."""
    return now.isoformat() if dialect_name == "postgresql" else now


@functools.lru_cache(maxsize=None)
def _recorded_insert(table, dialect) -> bulk.RowsInsert:
    """The insert of a UnitOfWork's rows (`write_recorded`), below the Core's per-row processing: the columns it
    writes, the envelope given as its JSON text; on PostgreSQL the time too (`_stamp`: psycopg2 adapts a datetime
    again for every row that gives it, a text is only quoted)."""
    columns = (table.c.event_id, table.c.type, table.c.envelope, table.c.created_at)
    as_text = (table.c.envelope, table.c.created_at) if dialect.name == "postgresql" else (table.c.envelope,)
    given = {table.c.envelope: documents.JSONText(), table.c.created_at: documents.TimeText()}  # as text, read as their type
    written = Table(table.name, MetaData(), *(Column(c.name, given[c] if c in as_text else c.type) for c in columns),
                    schema=table.schema)
    return bulk.RowsInsert(written, dialect)


_SHAPES_PER_TYPE = 64  # shapes of one event type remembered; a type seen in more shapes is checked in full beyond
_shapes: dict[str, dict[tuple, tuple | None]] = {}


def check_event_data(type_: str, data: dict) -> None:
    """Refuse (ValueError) an event whose data breaks its contract, as the contract's schema would.

    The schema runs in full the first time a shape of data is seen for the type (its keys and their values'
    types); for a shape it accepted, a later event checks only the values whose type alone does not settle
    their validity (a field with validators, a nested or formatted field), each through its field as the
    schema does. A missing required key, an unknown key, a None where none is allowed, a value of a wrong
    type: all are in the shape, and a shape is remembered only once the schema accepted it."""
    shape = tuple((key, value.__class__) for key, value in data.items()) if isinstance(data, dict) else None
    known = _shapes.get(type_)
    hard = known.get(shape, False) if known is not None and shape is not None else False
    if hard is False:  # a shape not yet accepted: the schema decides, and its verdict on the types is kept
        _refuse(type_, validate_event_data(type_, data))
        if shape is not None:
            known = _shapes.setdefault(type_, {})
            if len(known) < _SHAPES_PER_TYPE:
                known[shape] = _value_checks(instance(event_contract(type_).schema), shape)
        return
    if hard is None:  # a schema with its own hooks: run in full every time
        _refuse(type_, validate_event_data(type_, data))
        return
    errors = {}
    for key, field in hard:
        try:
            field.deserialize(data[key], key, data)
        except ValidationError as error:
            errors[key] = error.messages
    _refuse(type_, errors)


def _refuse(type_: str, errors: dict) -> None:
    if errors:
        raise ValueError(f"event {type_} does not match its contract: {errors}")


_SETTLED_BY_TYPE = {fields.String: (str,), fields.Integer: (int,), fields.Boolean: (bool,)}


def _value_checks(schema, shape: tuple) -> tuple | None:
    """The (key, field) pairs of a shape the schema accepted whose values must still be checked one by one; None
    when the schema has hooks of its own (pre_load, validates, validates_schema: they see the whole data)."""
    if any(schema._hooks.values()):
        return None
    by_key = {field.data_key if field.data_key is not None else name: field for name, field in schema.load_fields.items()}
    checks = []
    for key, kind in shape:
        field = by_key.get(key)
        if field is None or kind is type(None):  # an unknown key the schema let in, or None: the shape settles it
            continue
        if field.__class__ is fields.Raw and not field.validators:
            continue
        if not field.validators and kind in _SETTLED_BY_TYPE.get(field.__class__, ()):
            continue
        checks.append((key, field))
    return tuple(checks)


class Recorded(dict):
    """An envelope of a UnitOfWork transaction: `text`, its JSON as its outbox row holds it once written
    (`write_recorded`), is what the publisher sends after the commit (dumped once, not once per use)."""

    __slots__ = ("text",)


def record(session: Session, metadata, producer: str, type_: str, data: dict, actor: Actor | None,
           request_id: str | None) -> dict:
    """Add the event to the outbox in the session's transaction; returns the envelope."""
    check_event_data(type_, data)
    contract = event_contract(type_)
    envelope = make_envelope(type_, data, producer, actor, request_id, contract.entity_of(data),
                             contract.action_of(data))
    traceparent = tracing.current_traceparent()
    if traceparent:  # the consumer's span joins the trace of the request that wrote the event
        envelope[tracing.TRACEPARENT] = traceparent
    pending = session.info.get("crm_outbox")  # a UnitOfWork transaction publishes these right after commit
    if pending is None:
        session.execute(_insert_statement(_table(metadata)), {"event_id": envelope["event_id"], "type": type_,
                                                           "envelope": envelope, "created_at": utcnow()})
        return envelope
    envelope = Recorded(envelope)  # its text kept when its row is written, published as is
    pending.append(envelope)
    session.info.setdefault("crm_outbox_rows", []).append(envelope)  # written by write_recorded, before the commit
    return envelope


def record_batch(session: Session, metadata, producer: str, type_: str, datas: list[dict], actor: Actor | None,
                 request_id: str | None) -> list[dict]:
    """Many events of one type in the session's transaction, in one bulk insert (COPY on PostgreSQL): a job's
    per-item events (a campaign send's email_sent, one per message). They are left to the relay (nothing is
    published from memory). The contract check runs once per shape in the batch (the keys and the types of
    their values): a batch is built by one piece of code, so its events differ in values only; checking each
    one was most of what a batch's events cost."""
    contract, checked = event_contract(type_), set()
    rows, envelopes, now, traceparent = [], [], utcnow(), tracing.current_traceparent()
    for data in datas:
        shape = tuple((key, value.__class__) for key, value in data.items())
        if shape not in checked:
            _refuse(type_, validate_event_data(type_, data))
            checked.add(shape)
        envelope = make_envelope(type_, data, producer, actor, request_id, contract.entity_of(data),
                                 contract.action_of(data))
        if traceparent:
            envelope[tracing.TRACEPARENT] = traceparent
        envelopes.append(envelope)
        rows.append({"event_id": envelope["event_id"], "type": type_, "envelope": envelope, "created_at": now})
    bulk.insert_rows(session, _table(metadata), rows)
    return envelopes


WITH_EVENTS = "crm_with_events"  # session.info: [(bulk.RowsInsert, rows)] to insert with the outbox rows


def insert_with_events(session: Session, table, *rows: list) -> bool:
    """Have `rows` (lists in `table`'s column order) inserted with the outbox rows of the session's UnitOfWork
    transaction, just before its commit, in the same round trip on PostgreSQL (statements sent together); False
    (nothing done) elsewhere or outside such a transaction: the caller inserts them itself. A failure of the insert
    (a unique key taken meanwhile) is raised from the transaction's end, as it would have been from the insert.
    Nothing in the transaction may read `table` for them before then: they are not there yet."""
    if "crm_outbox" not in session.info or session.get_bind().dialect.name != "postgresql":
        return False
    if rows:
        session.info.setdefault(WITH_EVENTS, []).append((bulk.rows_insert(table, session.get_bind().dialect),
                                                         list(rows)))
    return True


def write_recorded(session: Session, metadata) -> None:
    """Insert the outbox rows a UnitOfWork transaction recorded, together (one statement for all its events,
    instead of one round trip each), as the last thing before its commit; on PostgreSQL with the rows of
    `insert_with_events`, in the same round trip, and with the COMMIT of a folded transaction (crm_common.folded)."""
    envelopes = session.info.pop("crm_outbox_rows", None)
    others = session.info.pop(WITH_EVENTS, None)
    if not envelopes and not others:
        return
    conn = session.connection()
    statements = [insert.statement(rows[start:start + insert.CHUNK]) for insert, rows in others or ()
                  for start in range(0, len(rows), insert.CHUNK)]
    if envelopes:
        # each envelope dumped to JSON text here, once (the publisher sends the same text), the rows inserted in one
        # statement below the Core's per-row processing (bulk.RowsInsert), stamped with one time: now, just
        # before the commit
        now = _stamp(utcnow(), conn.dialect.name)
        rows = []
        for envelope in envelopes:
            envelope.text = jsontext.text(envelope)
            rows.append([envelope["event_id"], envelope["type"], envelope.text, now])
        recorded = _recorded_insert(_table(metadata), conn.dialect)
        if not statements:
            recorded(conn, rows)
        else:  # in statements of at most CHUNK rows, all in the one round trip
            statements.extend(recorded.statement(rows[start:start + recorded.CHUNK])
                              for start in range(0, len(rows), recorded.CHUNK))
    if statements:
        conn.exec_driver_sql(folded.commit_with(session, conn, "; ".join(sql for sql, _ in statements)),
                             tuple(value for _, params in statements for value in params))


def _publish_each(publisher, rows) -> tuple[list, Exception | None]:
    """Publish `(key, envelope)` pairs in order until one fails: the keys published, and the failure."""
    done = []
    for key, envelope in rows:
        try:
            publisher.publish(envelope)
        except Exception as exc:  # the broker is away: what is left stays for the relay
            return done, exc
        done.append(key)
        metrics.published((envelope.get("type"),))
    return done, None


def publish_committed(engine: Engine, metadata, publisher, envelopes: list[dict], marks: "Marks | None" = None) -> int:
    """Publish the events of a transaction that has just committed, in order, then mark them (at once, or
    with `marks` in a later batch). A publisher with `publish_all` sends them together and waits for one
    confirm; on a failure none is marked (the relay publishes them again; consumers ignore repeats).
    Otherwise one by one: on a failure the rest stay unpublished and the error is raised after the marking."""
    if hasattr(publisher, "publish_all"):
        publisher.publish_all(envelopes)
        done, error = [envelope["event_id"] for envelope in envelopes], None
        metrics.published(envelope.get("type") for envelope in envelopes)
    else:
        done, error = _publish_each(publisher, ((envelope["event_id"], envelope) for envelope in envelopes))
    if done and marks is not None:
        marks.add(done)
    elif done:
        _mark(engine, metadata, done)
    if error is not None:
        raise error
    return len(done)


def _mark(engine: Engine, metadata, event_ids: list[str]) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            now = utcnow()
            for start in range(0, len(event_ids), _SQLITE_MARKS):
                conn.exec_driver_sql(*_sqlite_mark(_table(metadata), conn.dialect,
                                                   event_ids[start:start + _SQLITE_MARKS], now))
            return
        conn.execute(_mark_statement(_table(metadata), conn.dialect.name), {"ids": list(event_ids), "now": utcnow()})


_SQLITE_MARKS = 500  # ids a statement: well under SQLite's limit of parameters


def _sqlite_mark(table, dialect, event_ids: list[str], now) -> tuple[str, tuple]:
    """On SQLite, the mark as the driver's own statement with one placeholder per id, the time bound as the column
    binds it (the expanding IN of `_mark_statement` is rendered and bound again by the Core at every execution)."""
    head, processor = _sqlite_mark_parts(table, dialect)
    return (f"{head}({', '.join(['?'] * len(event_ids))}) AND published_at IS NULL",
            (processor(now) if processor is not None else now, *event_ids))


@functools.lru_cache(maxsize=None)
def _sqlite_mark_parts(table, dialect):
    return (f"UPDATE {dialect.identifier_preparer.format_table(table)} SET published_at = ? WHERE event_id IN ",
            table.c.published_at.type._cached_bind_processor(dialect))


class Marks:
    """Events published after their commit whose rows are still to be marked: marked together, a few times
    a second (`flush`, from the Database dependency's loop), in one short transaction instead of one after
    every commit. A row waits here far less than the relay's grace period, so the relay does not publish it
    again; should the process die first, the relay does, and consumers ignore the repeat."""

    def __init__(self, engine: Engine, metadata):
        self.engine, self.metadata = engine, metadata
        self._ids: list[str] = []
        self._lock = threading.Lock()

    def add(self, event_ids: list[str]) -> None:
        with self._lock:
            self._ids.extend(event_ids)

    def flush(self) -> int:
        with self._lock:
            ids, self._ids = self._ids, []
        if not ids:
            return 0
        try:
            for start in range(0, len(ids), 500):
                _mark(self.engine, self.metadata, ids[start:start + 500])
        except Exception:
            self.add(ids)  # marked next time (marking twice changes nothing: only unmarked rows are set)
            raise
        return len(ids)


def publish_pending(engine: Engine, metadata, publisher, limit: int = 500, min_age: float | None = None) -> int:
    """The relay: claim rows unpublished for at least `min_age` seconds (the grace period by default),
    publish them, mark them. Returns how many."""
    table = _table(metadata)
    age = config.env_float("CRM_OUTBOX_RELAY_GRACE", 2.0) if min_age is None else min_age
    query = (select(table.c.id, table.c.envelope)
             .where(table.c.published_at.is_(None), table.c.created_at <= utcnow() - timedelta(seconds=age))
             .order_by(table.c.id).limit(limit))
    if engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    with engine.begin() as conn:
        done, error = _publish_each(publisher, conn.execute(query).all())
        if done:
            conn.execute(update(table).where(table.c.id.in_(done)).values(published_at=utcnow()))
    if error is not None:
        raise error
    return len(done)


def unpublished_count(engine: Engine, metadata) -> int:
    from sqlalchemy import func
    table = _table(metadata)
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(table.c.published_at.is_(None))).scalar()


class CommitOrder:
    """The events of a process's transactions, published in the order the transactions committed.

    Each transaction's events join one queue right after its commit (no wait between the two, so the queue is
    in commit order) and whoever publishes next sends everything queued so far, in that order, one publisher at
    a time. Without it an RPC's events, published after its reply, could reach the broker after those of the
    caller's next call, handled meanwhile by another worker: a record's update before its creation. Within one
    process only: replicas of a service publish side by side, and a publish that fails leaves its events to the
    relay, which comes later."""

    def __init__(self):
        self._queue: collections.deque[list[dict]] = collections.deque()
        self._lock = threading.Lock()  # green under nameko's eventlet: a worker waits, the process does not

    def committed(self, envelopes: list[dict]) -> None:
        self._queue.append(envelopes)

    def publish(self, send) -> None:
        """Send (`send(envelopes)`) every queued transaction's events, oldest first."""
        with self._lock:
            envelopes: list[dict] = []
            while self._queue:
                envelopes.extend(self._queue.popleft())
            if envelopes:
                send(envelopes)
