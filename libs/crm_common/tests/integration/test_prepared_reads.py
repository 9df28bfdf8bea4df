"""A plain page on PostgreSQL runs as a statement prepared once per reading connection (crm_common.prepared): the
same rows as the statement run as usual, the statement prepared on that connection once, prepared again when the
connection lost it or its table changed, never inside a transaction, and not for a statement whose parameters vary
in number (an expanding IN)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import JSON, Float, Numeric, String, bindparam, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from crm_common import paging, prepared
from crm_common.db import IdMixin, TimestampMixin, make_base, reader
from crm_common.testing.harness import database_engine

pytestmark = [pytest.mark.integration, pytest.mark.postgresql]

Base = make_base("preparedreads")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


class Note(IdMixin, TimestampMixin, Base):
    __tablename__ = "notes"
    owner_id: Mapped[str] = mapped_column(String(36))
    team_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    custom_fields: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))  # the driver's Decimal, no processor
    ratio: Mapped[Decimal] = mapped_column(Float(asdecimal=True))  # a float the type makes a Decimal


@pytest.fixture
def engine(tmp_path):
    with database_engine("postgresql", "preparedreads", Base.metadata, tmp_path) as engine:
        with Session(engine) as session, session.begin():
            for i in range(12):
                session.add(Note(id=f"n{i:02d}", owner_id=("u1", "u2", "u3")[i % 3], team_id=("t1", None)[i % 2],
                                 custom_fields=({}, {"size": i})[i % 2], amount=Decimal(f"{i}.25"),
                                 ratio=Decimal(i) / 4, created_at=T0 + timedelta(minutes=i),
                                 updated_at=T0))
        yield engine
        reader(engine).dispose()


def page(conn, owners=("u1",), team=None, cursor=None, limit=3):
    """A page of the notes of `owners` (or of `team`), as a lead list pages them."""
    def build():
        alternatives = [Note.owner_id == bindparam(f"owner_{n}") for n in range(len(owners))]
        if team is not None:
            alternatives.append(Note.team_id == bindparam("team"))
        return [], alternatives

    params = {f"owner_{n}": owner for n, owner in enumerate(owners)}
    if team is not None:
        params["team"] = team
    return paging.paginate_plain(conn, Note, ("notes", owners, team is not None), build, params, limit=limit,
                                 cursor=cursor)


def prepared_here(conn) -> list[str]:
    return [name for (name,) in conn.exec_driver_sql("SELECT name FROM pg_prepared_statements")]


def every_page(conn, **kwargs) -> list[dict]:
    rows, cursor = page(conn, **kwargs)
    while cursor:
        more, cursor = page(conn, cursor=cursor, **kwargs)
        rows += more
    return rows


def usual(engine, **kwargs) -> list[dict]:
    """The same pages with the statement run as usual (in a transaction: nothing prepared)."""
    with engine.connect() as conn:
        rows = every_page(conn, **kwargs)
        assert prepared_here(conn) == []
    return rows


@pytest.mark.parametrize("kwargs", [{}, {"owners": ("u1", "u2")}, {"owners": ("u3",), "team": "t1"}],
                         ids=["one condition", "two merged", "owner or team"])
def test_a_reading_connection_prepares_a_page_once_and_gives_the_same_rows(engine, kwargs):
    with reader(engine).connect() as conn:
        first = every_page(conn, **kwargs)
        names = prepared_here(conn)
        again = every_page(conn, **kwargs)
        assert prepared_here(conn) == names
    assert names and all(name.startswith("crm_") for name in names)
    assert len(names) == 2  # the first page's statement and the one after a cursor
    assert first == again == usual(engine, **kwargs)
    assert len(first) == (4 if kwargs == {} else 8) and first[0]["created_at"].tzinfo is not None
    assert all(type(row["amount"]) is Decimal and type(row["ratio"]) is Decimal for row in first)


def test_a_statement_the_connection_lost_or_whose_table_changed_is_prepared_again(engine, monkeypatch):
    expected = usual(engine)
    deallocated = []
    real = prepared._deallocate
    monkeypatch.setattr(prepared, "_deallocate", lambda conn, name: deallocated.append(name) or real(conn, name))
    with reader(engine).connect() as conn:
        assert every_page(conn) == expected
        conn.exec_driver_sql("DEALLOCATE ALL")
        assert every_page(conn) == expected
        assert len(prepared_here(conn)) == 2 and len(deallocated) == 2  # each refused once, then prepared again
        with engine.begin() as writer:  # a migration: the table's row type changes under the prepared plans
            writer.execute(text("ALTER TABLE notes ALTER COLUMN owner_id TYPE varchar(40)"))
            writer.execute(text("ALTER TABLE notes ADD COLUMN extra integer"))
        assert every_page(conn) == expected
        assert len(prepared_here(conn)) == 2 and len(deallocated) == 4


def test_an_expanding_in_runs_as_usual(engine):
    query = select(Note.id).where(Note.owner_id.in_(bindparam("owners", expanding=True))).order_by(Note.id)
    with reader(engine).connect() as conn:
        names, rows = prepared.rows(conn, query, {"owners": ["u1", "u2"]})
        assert prepared_here(conn) == []
    assert names == ("id",) and [row[0] for row in rows] == [f"n{i:02d}" for i in range(12) if i % 3 != 2]


def test_a_statement_postgresql_cannot_prepare_runs_as_usual(engine):
    query = select((bindparam("a") + bindparam("b")).label("value"))  # unknown + unknown: PREPARE refuses it
    with reader(engine).connect() as conn:
        names, rows = prepared.rows(conn, query, {"a": 1, "b": 2})
        assert prepared_here(conn) == []
    assert names == ("value",) and [tuple(row) for row in rows] == [(3,)]


def test_a_connection_holds_a_bounded_number_of_statements(engine, monkeypatch):
    monkeypatch.setattr(prepared, "MAX_PER_CONNECTION", 2)
    with reader(engine).connect() as conn:
        every_page(conn)  # two statements
        page(conn, owners=("u2",), limit=3)  # the same statement text as u1's first page: no other
        assert len(prepared_here(conn)) == 2
        page(conn, owners=("u3",), team="t1")
        assert len(prepared_here(conn)) == 1  # DEALLOCATE ALL, then the new one
        assert page(conn, owners=("u1",), limit=12)[0] == usual(engine)
