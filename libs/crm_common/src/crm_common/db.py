"""Engines and the per-service declarative base (SQLite by default, PostgreSQL when configured)."""
from __future__ import annotations

import threading
import uuid
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


READ_ONLY = "crm_read_only"  # execution option of the connections UnitOfWork.read() hands out


def make_engine(url: str, **kwargs) -> Engine:
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
            cur.close()

        # SQLite has one writer at a time. Inside a process, transactions queue on a (green) lock
        # instead of blocking in SQLite's busy handler, which would freeze every eventlet greenthread.
        # A connection marked READ_ONLY (UnitOfWork.read) takes neither: in WAL mode a deferred
        # transaction reads a consistent snapshot and never waits for a writer.
        lock = threading.RLock()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            if conn.get_execution_options().get(READ_ONLY):
                conn.connection.dbapi_connection.execute("PRAGMA query_only = ON")  # a write fails at once
                conn.info["crm_query_only"] = True
                conn.exec_driver_sql("BEGIN")
                return
            lock.acquire()
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                lock.release()
                raise
            conn.info["crm_write_lock"] = True

        @event.listens_for(engine, "commit")
        @event.listens_for(engine, "rollback")
        def _sqlite_end(conn):
            if conn.info.pop("crm_write_lock", False):
                lock.release()
            if conn.info.pop("crm_query_only", False):
                conn.connection.dbapi_connection.execute("PRAGMA query_only = OFF")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
    return create_engine(url, **kwargs)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
