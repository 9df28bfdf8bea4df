"""Engines and the per-service declarative base (SQLite by default, PostgreSQL when configured)."""
from __future__ import annotations

import os
import threading
import time
import uuid
import weakref
from datetime import datetime, timezone

from sqlalchemy import String, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm_common import tables
from crm_common.types import UTCDateTime


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    return str(uuid.uuid4())


def new_ordered_id() -> str:
    """A UUID of version 7 (RFC 9562): the milliseconds since the epoch, then 74 random bits. Rows keyed by
    these go in at the right-hand end of the primary-key index instead of at random places in it, which keeps
    bulk inserts cheap (see README.md, "Measured"). For bulk inserts, not for anything that must be
    unguessable (the time is readable, and fewer bits are random)."""
    raw = bytearray((time.time_ns() // 1_000_000).to_bytes(6, "big") + os.urandom(10))
    raw[6] = (raw[6] & 0x0F) | 0x70  # version 7
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC variant
    return str(uuid.UUID(bytes=bytes(raw)))


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
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
    return create_engine(url, **kwargs)


_readers: "weakref.WeakKeyDictionary[Engine, Engine]" = weakref.WeakKeyDictionary()
_readers_lock = threading.Lock()


def reader(engine: Engine) -> Engine:
    """The engine of read-only transactions on `engine`'s database (UnitOfWork.read). SQLite: a pool of
    its own whose connections refuse writes and never take the write lock. PostgreSQL: the same pool,
    each transaction BEGIN READ ONLY (psycopg2's readonly, reset when a connection goes back)."""
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
                    found = engine.execution_options(postgresql_readonly=True)
                _readers[engine] = found
    return found


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
