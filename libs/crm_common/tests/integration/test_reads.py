"""UnitOfWork.read(): the cheap read path. It never waits for a writer, sees only committed data (or,
inside a transaction, that transaction's own writes), and refuses to write, on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import String, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapped, mapped_column

from crm_common.db import IdMixin, make_base
from crm_common.testing.harness import database_engine
from crm_common.unit_of_work import UnitOfWork

pytestmark = pytest.mark.integration

Base = make_base("readtest")


class Item(IdMixin, Base):
    __tablename__ = "items"
    label: Mapped[str] = mapped_column(String(50))


@pytest.fixture
def engine(backend, tmp_path):
    with database_engine(backend, "readtest", Base.metadata, tmp_path) as engine:
        yield engine


def uow(engine):
    return UnitOfWork(engine, Base.metadata, "readtest", None, None, None)


def labels(conn):
    return sorted(conn.execute(select(Item.label)).scalars())


def test_a_read_does_not_wait_for_an_open_write_and_sees_only_what_is_committed(engine):
    with uow(engine).transaction() as session:
        session.add(Item(label="committed"))
    writing, release = threading.Event(), threading.Event()

    def writer():
        work = uow(engine)
        with work.transaction() as session:
            session.add(Item(label="uncommitted"))
            session.flush()
            writing.set()
            release.wait(10)
        work.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert writing.wait(10)
        started = time.monotonic()
        with uow(engine).read() as conn:
            seen = labels(conn)
        assert time.monotonic() - started < 1
        assert seen == ["committed"]
    finally:
        release.set()
        thread.join()
    with uow(engine).read() as conn:
        assert labels(conn) == ["committed", "uncommitted"]


def test_a_read_inside_a_transaction_sees_that_transactions_writes(engine):
    work = uow(engine)
    with work.transaction() as session:
        session.add(Item(label="mine"))
        session.flush()
        with work.read() as conn:
            assert labels(conn) == ["mine"]
    work.close()


def test_a_read_refuses_to_write_and_leaves_the_connection_writable_afterwards(engine):
    with pytest.raises(DBAPIError):
        with uow(engine).read() as conn:
            conn.execute(text("INSERT INTO items (id, label) VALUES ('x1', 'sneaked')"))
    for _ in range(3):  # the pooled connections serve writes again
        with uow(engine).transaction() as session:
            session.add(Item(label="later"))
    with uow(engine).read() as conn:
        assert labels(conn) == ["later", "later", "later"]
