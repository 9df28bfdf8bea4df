"""Writes sent in one round trip inside a transaction on PostgreSQL, each prepared once per connection
(crm_common.prepared.send): the same rows as the statements run as usual, each text prepared once, and a connection
whose round trip failed (its PREPAREs outlive the rollback) or whose table was dropped and made again goes on."""
from __future__ import annotations

import pytest
from sqlalchemy import Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from crm_common import prepared
from crm_common.db import make_base
from crm_common.testing.harness import database_engine

pytestmark = [pytest.mark.integration, pytest.mark.postgresql]

Base = make_base("preparedwrites")


class Count(Base):
    __tablename__ = "counts"
    key: Mapped[str] = mapped_column(String(8), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


ADD = ("INSERT INTO counts (key, n) SELECT * FROM unnest(CAST(%(keys)s AS VARCHAR(8)[]), CAST(%(ns)s AS INTEGER[])) "
       "ON CONFLICT (key) DO UPDATE SET n = counts.n + EXCLUDED.n")
DROP_EMPTY = "DELETE FROM counts WHERE key = ANY(CAST(%(keys)s AS VARCHAR(8)[])) AND n <= 0"


@pytest.fixture
def engine(tmp_path):
    with database_engine("postgresql", "preparedwrites", Base.metadata, tmp_path) as engine:
        yield engine


def prepared_here(conn) -> dict[str, str]:
    return _read(conn, "SELECT name, statement FROM pg_prepared_statements")


def counts(conn) -> dict[str, int]:
    return _read(conn, "SELECT key, n FROM counts")


def _read(conn, sql: str) -> dict:
    """Pairs read in a transaction of their own, unless the connection is in one."""
    if conn.in_transaction():
        return dict(conn.exec_driver_sql(sql).all())
    with conn.begin():
        return dict(conn.exec_driver_sql(sql).all())


def test_writes_run_in_order_each_text_prepared_once_per_connection(engine):
    with engine.connect() as conn:
        with conn.begin():
            prepared.send(conn, [(ADD, {"keys": '{"a","b","it\'s"}', "ns": "{1,2,3}"}),
                                 (ADD, {"keys": '{"a"}', "ns": "{-1}"}), (DROP_EMPTY, {"keys": '{"a"}'})])
            names = prepared_here(conn)
        assert counts(conn) == {"b": 2, "it's": 3}
        assert len(names) == 2 and all(name.startswith("crm_") for name in names)
        with conn.begin():
            prepared.send(conn, [(ADD, {"keys": '{"b","c"}', "ns": "{5,7}"})])
        assert prepared_here(conn) == names and counts(conn) == {"b": 7, "c": 7, "it's": 3}
    with engine.connect() as conn, conn.begin():  # the same connection from the pool: nothing prepared again
        prepared.send(conn, [(ADD, {"keys": '{"b"}', "ns": "{1}"})])
        assert prepared_here(conn) == names and counts(conn) == {"b": 8, "c": 7, "it's": 3}


def test_a_failed_round_trip_leaves_the_connection_able_to_write(engine):
    with engine.connect() as conn:
        with pytest.raises(Exception, match="out of range"), conn.begin():
            # ADD's PREPARE runs and outlives the rollback; the value too large for an integer fails the rest
            prepared.send(conn, [(ADD, {"keys": '{"a"}', "ns": "{1}"}), (DROP_EMPTY, {"keys": '{"a"}'}),
                                 (ADD, {"keys": '{"b"}', "ns": "{99999999999}"})])
        assert len(prepared_here(conn)) == 2 and counts(conn) == {}
        with conn.begin():  # a PREPARE of a name there already would fail the transaction: the names are read
            prepared.send(conn, [(ADD, {"keys": '{"a"}', "ns": "{4}"}), (DROP_EMPTY, {"keys": '{"a"}'})])
        assert len(prepared_here(conn)) == 2 and counts(conn) == {"a": 4}


def test_a_table_made_again_is_written_by_the_statement_prepared_before(engine):
    with engine.connect() as conn:
        with conn.begin():
            prepared.send(conn, [(ADD, {"keys": '{"a"}', "ns": "{1}"})])
        names = prepared_here(conn)
        with conn.begin():  # a rebuild's generation made again, with a column more
            conn.execute(text("DROP TABLE counts"))
            conn.execute(text("CREATE TABLE counts (key varchar(8) PRIMARY KEY, n integer, extra integer DEFAULT 5)"))
            prepared.send(conn, [(ADD, {"keys": '{"a","b"}', "ns": "{2,3}"})])
        assert prepared_here(conn) == names
        assert _read(conn, "SELECT key, n + extra FROM counts") == {"a": 7, "b": 8}


def test_a_connection_holds_a_bounded_number_of_statements(engine, monkeypatch):
    monkeypatch.setattr(prepared, "MAX_PER_CONNECTION", 2)
    with engine.connect() as conn:
        with conn.begin():
            prepared.send(conn, [(ADD, {"keys": '{"a"}', "ns": "{1}"}), (DROP_EMPTY, {"keys": '{"b"}'})])
        assert len(prepared_here(conn)) == 2
        with conn.begin():
            prepared.send(conn, [(ADD + " WHERE counts.n < 100", {"keys": '{"a"}', "ns": "{1}"})])
        assert len(prepared_here(conn)) == 1 and counts(conn) == {"a": 2}  # DEALLOCATE ALL, then the new one


def test_a_statement_sent_first_as_it_is_and_the_last_statements_row(engine):
    with engine.connect() as conn:
        with conn.begin():
            prepared.send(conn, [(ADD, {"keys": '{"a"}', "ns": "{1}"})])
        lock = [("SELECT n FROM counts WHERE key = 'a' FOR UPDATE", {})]
        with conn.begin():
            assert prepared.send(conn, lock, first="SAVEPOINT s") == (1,)
            assert prepared.send(conn, [(ADD, {"keys": '{"a"}', "ns": "{1}"})]) is None
            conn.exec_driver_sql("ROLLBACK TO SAVEPOINT s")  # the savepoint `first` made
            assert prepared.send(conn, lock) == (1,)
        assert len(prepared_here(conn)) == 2
