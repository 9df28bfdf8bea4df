"""Bulk inserts (COPY on PostgreSQL) store exactly what an ORM insert stores: NULL versus empty text,
escapes, UTC datetimes, JSON, booleans, decimals and Python-side defaults; and roll back with the
transaction."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import JSON, Boolean, Integer, Numeric, String, Text, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from crm_common import bulk, documents
from crm_common.testing.harness import database_engine
from crm_common.types import UTCDateTime

pytestmark = pytest.mark.integration


class Base(DeclarativeBase):
    pass


class Thing(Base):
    __tablename__ = "things"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    flag: Mapped[bool] = mapped_column(Boolean, default=False)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    score: Mapped[int] = mapped_column(Integer, default=7)


ROWS = [
    {"id": "a", "name": None, "tags": ["x", {"k": "v"}], "at": datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc),
     "flag": True, "amount": Decimal("1250.50")},
    {"id": "b", "name": "", "tags": [], "at": datetime(2026, 12, 3, 12, 0, tzinfo=timezone(timedelta(hours=2))),
     "flag": False, "amount": None},
    {"id": "c", "name": 'tab\there, line\nbreak, cr\r, back\\slash, "quote", \\N, é ✓', "tags": None, "at": None,
     "flag": True, "amount": Decimal("-0.01")},
]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    with database_engine(request.param, "bulk", Base.metadata, tmp_path) as engine:
        yield engine


def _stored(engine):
    with Session(engine) as session:
        return {t.id: (t.name, t.tags, t.at, t.flag, t.amount, t.score) for t in session.scalars(select(Thing))}


def test_bulk_rows_read_back_as_an_orm_insert_writes_them(engine):
    with Session(engine) as session, session.begin():
        bulk.insert_rows(session, Thing.__table__, [dict(row) for row in ROWS])
    copied = _stored(engine)
    with Session(engine) as session, session.begin():
        session.execute(Thing.__table__.delete())
        session.add_all(Thing(**row) for row in ROWS)
    assert copied == _stored(engine)
    assert copied["a"][0] is None and copied["b"][0] == ""  # NULL is not empty text
    assert copied["b"][2] == datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc)
    assert copied["a"][5] == 7  # the Python-side default of a column the rows leave out


def test_a_bulk_insert_rolls_back_with_its_transaction(engine):
    with Session(engine) as session:
        session.begin()
        bulk.insert_rows(session, Thing.__table__, [dict(ROWS[0])])
        session.rollback()
    assert _stored(engine) == {}
    if engine.dialect.name != "postgresql":
        return
    with pytest.raises(ValueError):  # PostgreSQL text holds no NUL: refused before anything is sent
        with Session(engine) as session, session.begin():
            bulk.insert_rows(session, Thing.__table__, [{**ROWS[0], "name": "nul\x00byte"}])


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_bulk_insert_works_where_psycopg2_is_cooperative(engine):
    """The services run psycopg2 with a wait callback (eventlet), under which psycopg2 refuses COPY."""
    from psycopg2 import extensions, extras
    extensions.set_wait_callback(extras.wait_select)
    try:
        with Session(engine) as session, session.begin():
            bulk.insert_rows(session, Thing.__table__, [dict(row) for row in ROWS])
        assert extensions.get_wait_callback() is extras.wait_select  # put back
        assert set(_stored(engine)) == {"a", "b", "c"}
    finally:
        extensions.set_wait_callback(None)


def test_the_callers_work_runs_while_the_rows_are_sent_and_what_it_raises_comes_after_the_copy(engine):
    """`write(session, meanwhile)`: the caller's work runs once the rows are sent (PostgreSQL: inside the COPY, the
    wait callback cleared); its error is raised once the insert has ended, and the rows roll back with the
    transaction; the connection stays usable."""
    postgresql = engine.dialect.name == "postgresql"
    if postgresql:
        from psycopg2 import extensions, extras
        extensions.set_wait_callback(extras.wait_select)
    ran = []

    def meanwhile():
        ran.append(extensions.get_wait_callback() if postgresql else "ran")
        raise LookupError("the caller's work failed")

    try:
        with Session(engine) as session:
            session.begin()
            write = bulk.prepare(engine.dialect, Thing.__table__, [dict(row) for row in ROWS])
            with pytest.raises(LookupError, match="the caller's work failed"):
                write(session, meanwhile)
            assert ran == [None if postgresql else "ran"]
            assert session.scalar(select(func.count()).select_from(Thing)) == 3  # the insert itself ended well
            session.rollback()
        if postgresql:
            assert extensions.get_wait_callback() is extras.wait_select  # put back
        assert _stored(engine) == {}
        with Session(engine) as session, session.begin():
            bulk.prepare(engine.dialect, Thing.__table__, [dict(ROWS[0])])(session, lambda: ran.append("again"))
        assert set(_stored(engine)) == {"a"} and ran[-1] == "again"
    finally:
        if postgresql:
            extensions.set_wait_callback(None)


class Written(Base):
    """A table as `bulk.rows_insert` writes it: lists in its column order, a JSON column given as its text
    (`documents.JSONText`), a time as its ISO text (`documents.TimeText`)."""
    __tablename__ = "written"
    id: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    doc: Mapped[dict | None] = mapped_column(JSON)
    at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    flag: Mapped[bool | None] = mapped_column(Boolean)
    score: Mapped[int | None] = mapped_column(Integer)


def _as_written():
    from sqlalchemy import Column, MetaData, Table
    kinds = {"doc": documents.JSONText(), "at": documents.TimeText()}
    return Table("written", MetaData(), *(Column(c.name, kinds.get(c.name, c.type)) for c in Written.__table__.columns))


WRITTEN = [
    ["a", None, '{"k": "v", "list": [1, 2.5, null]}', "2026-12-03T10:00:00.123456+00:00", True, 0],
    ["b", "", "[]", "2026-12-03T12:00:00+02:00", False, -7],
    ["c", 'tab\there, line\nbreak, cr\r, back\\slash, "quote", \'single\', %s %(x)s, \\N, é ✓ \U0001f600', "null",
     None, None, 2_147_483_647],
]


def _written_back(engine) -> dict:
    """Each row as stored: the JSON column's text as kept (json keeps it as given), the time, the others."""
    from sqlalchemy import text
    cast = "CAST(doc AS TEXT)" if engine.dialect.name == "postgresql" else "doc"
    with engine.connect() as conn:
        return {row[0]: tuple(row[1:]) for row in conn.execute(text(
            f"SELECT id, name, {cast}, at, flag, score FROM written"))}


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_rows_insert_sends_its_rows_as_one_document_and_stores_what_values_store(engine):
    """On PostgreSQL `rows_insert` sends a batch as one parameter (the rows' JSON text, which psycopg2 quotes once,
    not each value), and the rows read back exactly as the multi-row VALUES insert stores them: NULL and empty
    text, quotes, backslashes, percent signs, characters beyond the BMP, a JSON column's text as given, times with
    their offsets, booleans, integers."""
    table = _as_written()
    insert = bulk.RowsInsert(table, engine.dialect)
    sent = _parameters_sent(engine, lambda conn: insert(conn, [list(row) for row in WRITTEN]))
    assert len(sent) == 1 and len(sent[0]) == 1  # one statement, one parameter
    documented = _written_back(engine)
    with engine.begin() as conn:
        conn.execute(Written.__table__.delete())
        insert.document = None  # the multi-row VALUES insert, each value bound
        insert(conn, [list(row) for row in WRITTEN])
    assert documented == _written_back(engine)
    assert documented["a"][1] == '{"k": "v", "list": [1, 2.5, null]}'  # the JSON text as given, not re-spaced
    assert documented["b"][2] == datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc)
    assert documented["c"][0] == WRITTEN[2][1]


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_rows_insert_by_document_refuses_what_values_refuse(engine):
    """A text longer than its column is refused, not cut (as the VALUES insert refuses it); a datetime of a column
    without bind processing goes as its ISO text and reads back as the same instant."""
    from sqlalchemy.exc import DataError
    written = _short_written()
    insert = bulk.RowsInsert(written, engine.dialect)
    with pytest.raises(DataError):
        with engine.begin() as conn:
            insert(conn, [["x" * 9, None, None, None, None, None]])
    at = datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc)
    with engine.begin() as conn:
        insert(conn, [["d", "n", None, at, None, None]])
    assert _written_back(engine)["d"][2] == at


def _short_written():
    """The written table with its time given as a datetime (no bind processing) and its id as VARCHAR(8)."""
    from sqlalchemy import Column, DateTime, MetaData, Table
    kinds = {"doc": documents.JSONText(), "at": DateTime(timezone=True)}
    return Table("written", MetaData(), *(Column(c.name, kinds.get(c.name, c.type)) for c in Written.__table__.columns))


class Documented(Base):
    """A table whose rows a `documents.Document` carries with their values as the Core takes them: a JSON column given
    as Python lists and dicts, times as tz-aware datetimes."""
    __tablename__ = "documented"
    id: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    doc: Mapped[dict | None] = mapped_column(JSON)
    at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    score: Mapped[int | None] = mapped_column(Integer)


DOCUMENTED = [
    ["a", "plain", {"b": [1, 2.5, None, {"z": "é ✓ \U0001f600"}], "a": {"nested": ["x", []]}},
     datetime(2026, 12, 3, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2))), 1],
    ["b", 'quote " and \\ backslash', ['"q"', "back\\slash", "tab\tline\nbreak", "%s %(x)s", "\\N"],
     datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc), None],
    ["c", None, None, None, None],  # JSON null for the JSON column (as the Core binds None), NULL elsewhere
    ["d", "", [], datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
     0],
]


def _documented_back(engine) -> dict:
    """Each row as stored: the JSON column's text as kept, whether it is SQL NULL, the time, the others."""
    from sqlalchemy import text
    with engine.connect() as conn:
        return {row[0]: tuple(row[1:]) for row in conn.execute(text(
            "SELECT id, name, CAST(doc AS TEXT), doc IS NULL, at, score FROM documented"))}


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_document_carries_times_and_json_values_exactly_as_the_core_inserts_them(engine):
    """Rows given as the Core takes them (tz-aware datetimes, a JSON column's lists and dicts with unicode, quotes,
    backslashes, None) go as one document parameter, and read back exactly as the Core's insert stores them: the
    same JSON text (key order kept), JSON null for None, the same instants."""
    from sqlalchemy import insert
    table = Documented.__table__
    names = tuple(c.name for c in table.columns)
    source = documents.document(table, names, engine.dialect)
    sent = _parameters_sent(engine, lambda conn: bulk.RowsInsert(table, engine.dialect)(
        conn, [list(row) for row in DOCUMENTED]))
    assert len(sent) == 1 and sent[0] == (source.parameter(DOCUMENTED),)  # one statement, the document alone
    documented = _documented_back(engine)
    with engine.begin() as conn:
        conn.execute(table.delete())
        conn.execute(insert(table), [dict(zip(names, row)) for row in DOCUMENTED])
    assert documented == _documented_back(engine)
    with engine.begin() as conn:
        conn.execute(table.delete())
        values = bulk.RowsInsert(table, engine.dialect)
        values.document = None  # the multi-row VALUES insert, each value bound
        values(conn, [list(row) for row in DOCUMENTED])
    assert documented == _documented_back(engine)
    with Session(engine) as session:
        stored = {d.id: (d.name, d.doc, d.at, d.score) for d in session.scalars(select(Documented))}
    assert stored == {row[0]: tuple(row[1:]) for row in DOCUMENTED}  # values round-trip (instants compare in UTC)
    assert list(stored["a"][1]) == ["b", "a"]  # key order as given
    assert documented["c"][1:3] == ("null", False)  # JSON null, not SQL NULL, as the Core binds None


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_document_refuses_what_it_does_not_carry_as_it_is(engine):
    """A value the document would not read back as the Core binds it (a subclass of str, a time with an offset for a
    timestamp without time zone) gives no document: the caller binds the rows another way."""
    from sqlalchemy import Column, DateTime, MetaData, Table
    table = Table("naive", MetaData(), Column("id", String(8)), Column("at", DateTime()))
    source = documents.document(table, ("id", "at"), engine.dialect)

    class Label(str):
        pass

    assert source.parameter([["a", datetime(2026, 12, 3, 10, 0)]]) == '[["a","2026-12-03T10:00:00"]]'
    assert source.parameter([[Label("a"), None]]) is None
    assert source.parameter([["a", datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc)]]) is None


def _parameters_sent(engine, write) -> list:
    """The parameters of each statement `write(conn)` sends, in one transaction."""
    from sqlalchemy import event
    sent = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        sent.append(parameters)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        with engine.begin() as conn:
            write(conn)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    return sent
