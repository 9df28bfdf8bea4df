"""Bulk inserts (COPY on PostgreSQL) store exactly what an ORM insert stores: NULL versus empty text,
escapes, UTC datetimes, JSON, booleans, decimals and Python-side defaults; and roll back with the
transaction."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import JSON, Boolean, Integer, Numeric, String, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from crm_common import bulk
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
