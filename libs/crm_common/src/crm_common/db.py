"""Engines and the per-service declarative base (SQLite by default, PostgreSQL when configured)."""
from __future__ import annotations

import functools
import os
import threading
import time
import uuid
import weakref
from datetime import datetime, timezone

from sqlalchemy import JSON, Column, MetaData, String, Table, bindparam, create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Mapped, make_transient_to_detached, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from crm_common import tables
from crm_common.ids import new_ordered_id  # noqa: F401 (time-ordered ids, for bulk rows: their home is ids)
from crm_common.types import UTCDateTime


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    return str(uuid.uuid4())


def make_base(name: str) -> type[DeclarativeBase]:
    """A declarative base for one service, with the kernel's tables on its metadata."""

    class Base(DeclarativeBase):
        type_annotation_map = {datetime: UTCDateTime()}

    Base.__name__ = f"{name.title().replace('_', '')}Base"
    tables.install(Base.metadata)
    return Base


class IdMixin:
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


def make_engine(url: str, *, read_only: bool = False, **kwargs) -> Engine:
    """An engine for a service's database. `read_only`: for SQLite, connections that refuse writes
    (PRAGMA query_only) and read in deferred transactions without the process's write lock; see reader()."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN itself
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            if read_only:
                cur.execute("PRAGMA query_only=ON")  # a write fails at once
            cur.close()

        if read_only:
            # WAL: a deferred transaction reads a consistent snapshot and never waits for a writer
            @event.listens_for(engine, "begin")
            def _sqlite_begin_read(conn):
                conn.connection.dbapi_connection.execute("BEGIN")

            return engine

        # SQLite has one writer at a time. Inside a process, transactions queue on a (green) lock
        # instead of blocking in SQLite's busy handler, which would freeze every eventlet greenthread.
        lock = threading.RLock()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            lock.acquire()
            try:
                conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE")
            except BaseException:
                lock.release()
                raise
            conn.info["crm_write_lock"] = True

        @event.listens_for(engine, "commit")
        @event.listens_for(engine, "rollback")
        def _sqlite_end(conn):
            if conn.info.pop("crm_write_lock", False):
                lock.release()

        return engine
    if "poolclass" not in kwargs:  # connections kept open, and how many more a burst may open for a moment
        kwargs.setdefault("pool_size", int(os.environ.get("CRM_DB_POOL_SIZE") or 10))
        kwargs.setdefault("max_overflow", int(os.environ.get("CRM_DB_MAX_OVERFLOW") or 10))
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine, float(os.environ.get("CRM_DB_PING_AFTER_IDLE") or 5.0))
    return engine


def _ping_when_idle(engine: Engine, seconds: float) -> None:
    """A pooled connection idle for more than `seconds` is pinged before it is handed out, and replaced
    if the server is gone (restarted, or the connection cut while idle). SQLAlchemy's pool_pre_ping
    pings on every checkout: a round trip more for every transaction (about 6% of a consumer's CPU
    on PostgreSQL), for connections that were in use a moment ago. A connection that fails while in
    use is still invalidated with its pool by SQLAlchemy, as with pre-ping."""

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn, record):
        record.info["crm_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn, record, _proxy):
        since = record.info.pop("crm_idle_since", None)
        if since is not None and time.monotonic() - since > seconds:
            try:
                engine.dialect.do_ping(dbapi_conn)
            except Exception as exc:  # the pool drops this connection and tries another
                raise DisconnectionError(f"an idle database connection is gone ({type(exc).__name__})") from exc


_readers: "weakref.WeakKeyDictionary[Engine, Engine]" = weakref.WeakKeyDictionary()
_readers_lock = threading.Lock()


def reader(engine: Engine) -> Engine:
    """The engine of read-only transactions on `engine`'s database (UnitOfWork.read). SQLite: a pool of
    its own whose connections refuse writes and never take the write lock. PostgreSQL: a pool of its own
    whose sessions are read-only (default_transaction_read_only) and in autocommit: a read is its one
    statement, without a BEGIN and a ROLLBACK around it (two round trips more, each a wake-up of the
    database and of the service). At READ COMMITTED, PostgreSQL's default, each statement of a
    transaction reads a snapshot of its own anyway, so a read of several statements sees the same."""
    found = _readers.get(engine)
    if found is None:
        with _readers_lock:
            found = _readers.get(engine)
            if found is None:
                if is_sqlite(engine) and engine.url.database in (None, "", ":memory:"):
                    found = engine  # a private in-memory database: only its own pool sees it
                elif is_sqlite(engine):
                    found = make_engine(engine.url.render_as_string(hide_password=False), read_only=True)
                else:
                    found = make_engine(engine.url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT",
                                        connect_args={"options": "-c default_transaction_read_only=on"})
                _readers[engine] = found
    return found


@functools.lru_cache(maxsize=None)
def insert_or_skip(table: Table, conflict: tuple[str, ...]):
    """`INSERT ... ON CONFLICT (conflict) DO NOTHING` of every column of `table` (PostgreSQL and SQLite alike),
    as a textual statement with typed parameters named like the columns. SQLAlchemy gives its dialects'
    own on_conflict_do_nothing() inserts no cache key, so they are compiled again on every execution (a
    tenth of a consumer's CPU per event); this one is compiled once. `rowcount` is 1 when it inserted."""
    names = [column.name for column in table.columns]
    quoted = ", ".join(f'"{name}"' for name in names)
    sql = (f'INSERT INTO "{table.name}" ({quoted}) VALUES ({", ".join(":" + name for name in names)}) '
           f'ON CONFLICT ({", ".join(chr(34) + name + chr(34) for name in conflict)}) DO NOTHING')
    return text(sql).bindparams(*[bindparam(column.name, type_=column.type) for column in table.columns])


@functools.lru_cache(maxsize=None)
def _record_insert(model) -> tuple:
    """The INSERT of every column of `model`'s table, and per column (attribute, column key, its Python-side
    default or None, whether it is the version counter). Built once per model."""
    mapper = inspect(model)
    table = mapper.local_table
    columns = []
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if getattr(column, "table", None) is not table or getattr(column, "server_default", None) is not None:
            raise TypeError(f"insert_record: {model.__name__}.{prop.key} is not a plain column of its table")
        default = column.default
        if default is not None and not (default.is_callable or default.is_scalar):
            raise TypeError(f"insert_record: {model.__name__}.{prop.key} has a default SQL expression")
        keeps_none = bool(getattr(column.type, "should_evaluate_none", False))  # JSON: None is JSON null
        if keeps_none and default is None:
            raise TypeError(f"insert_record: {model.__name__}.{prop.key} stores None as JSON null and has no default")
        columns.append((prop.key, column.key, default, column is mapper.version_id_col, keeps_none))
    return table.insert(), tuple(columns)


def insert_record(session, record, with_last_writes: bool = False) -> None:
    """Insert a new ORM object's row with one prepared Core INSERT on the session's connection, instead of
    `session.add` and the unit of work's flush: its Python-side defaults (id, timestamps, `default=`) and its
    version (1) are filled in on the object first, as a flush would (a JSON attribute set to None stays None,
    stored as JSON null, as the ORM stores it), so what is read back from it is what the row holds;
    then the object joins the session as a flush leaves it (persistent and clean: a later change to it is an
    UPDATE). A model with server-side defaults or SQL expression defaults is refused (TypeError).

    `with_last_writes`: on PostgreSQL, in a UnitOfWork transaction, the row goes with the transaction's last
    writes (its outbox rows, a kept Idempotency-Key: crm_common.outbox.insert_with_events), in their round trip
    just before the commit, instead of in one of its own; its failure (a unique key taken) is raised from the
    transaction's end. For a caller that neither reads the row back nor writes a row referring to it in the same
    transaction."""
    statement, columns = _record_insert(type(record))
    state = record.__dict__
    values = {}
    for attribute, key, default, is_version, keeps_none in columns:
        value = state.get(attribute)
        if value is None and (default is not None or is_version) and not (keeps_none and attribute in state):
            value = 1 if is_version else (default.arg(None) if default.is_callable else default.arg)
            setattr(record, attribute, value)
        elif attribute not in state:  # NULL: loaded as such (not expired, which would read the row again)
            set_committed_value(record, attribute, None)
        values[key] = value
    if not (with_last_writes and _with_last_writes(session, statement.table, values)):
        session.connection().execute(statement, values)
    make_transient_to_detached(record)  # then in the session as a flush leaves it: persistent, nothing to write
    session.add(record)


def _with_last_writes(session, table: Table, values: dict) -> bool:
    from crm_common import outbox  # it reads this module's utcnow
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        return False
    written, texts = _as_last_write(table, dialect)
    return outbox.insert_with_events(session, written, [values[column.key] if text is None else text(values[column.key])
                                                        for column, text in zip(table.columns, texts)])


@functools.lru_cache(maxsize=None)
def _as_last_write(table: Table, dialect) -> tuple:
    """`table` as the last writes insert it (crm_common.bulk.RowsInsert): its JSON columns given as their JSON text;
    and per column the bind processor making that text (of None too: JSON null, as the ORM stores it), else None."""
    from crm_common.documents import JSONText
    is_json = [isinstance(column.type, JSON) for column in table.columns]
    written = Table(table.name, MetaData(), *(Column(column.name, JSONText() if json else column.type)
                                              for column, json in zip(table.columns, is_json)), schema=table.schema)
    return written, tuple(column.type._cached_bind_processor(dialect) if json else None
                          for column, json in zip(table.columns, is_json))


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


_HOLD = {False: text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
         True: text("SELECT pg_advisory_xact_lock_shared(hashtextextended(:key, 0))")}


def serialize_on(session, key: str, shared: bool = False) -> None:
    """Hold `key` until the transaction ends: a second transaction asking for the same key waits for the first
    to commit or roll back, then reads what it wrote. `shared`: transactions holding it shared do not wait for
    one another, only for one holding it alone (and it for them). `session`: a Session or a Connection.
    PostgreSQL: a transaction-level advisory lock on the key's hash; SQLite needs none (one writer at a time)."""
    bind = session.get_bind() if hasattr(session, "get_bind") else session
    if bind.dialect.name == "postgresql":
        session.execute(_HOLD[shared], {"key": key})
