"""Many events claimed in one statement (inbox.claim_many, claim_and_insert_many: on PostgreSQL the claims and the
rows each as one JSON document, crm_common.documents.document) on both backends: each new event once, an event claimed
before not again, its row inserted only when its claim is new; rows the document does not carry as they are take
the two statements, with the same answers."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import JSON, MetaData, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from crm_common import inbox, tables
from crm_common.testing.harness import database_engine
from crm_common.types import UTCDateTime

pytestmark = pytest.mark.integration


class Base(DeclarativeBase):
    metadata = MetaData()


tables.install(Base.metadata)


class Entry(Base):
    __tablename__ = "entries"
    id: Mapped[str] = mapped_column(String(8), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    fields: Mapped[list] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Label(str):
    """Text the document does not carry as it is (a subclass of str)."""


def _envelopes(*ids):
    return [{"event_id": i, "type": "probe.thing_done.v1"} for i in ids]


def _row(event_id, n, label=str):
    return {"id": label(f"r-{n}"), "event_id": event_id, "fields": ["a", {"é": 'q"\\'}],
            "at": datetime(2026, 12, 3, 12, 0, n, tzinfo=timezone(timedelta(hours=2)))}


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    with database_engine(request.param, "inbox", Base.metadata, tmp_path) as engine:
        yield engine


@pytest.mark.parametrize("label", [str, Label])
def test_claims_and_their_rows_go_once_each(engine, label):
    with Session(engine) as s, s.begin():
        assert inbox.claim_many(s, Base.metadata, _envelopes("a", "b", "a")) == {"a", "b"}
    from sqlalchemy import event
    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)
    with Session(engine) as s, s.begin():
        s.connection()
        event.listen(engine, "before_cursor_execute", seen)
        try:
            fresh = inbox.claim_and_insert_many(s, Base.metadata, _envelopes("b", "c", "d", "c"), Entry.__table__,
                                                [_row("b", 1, label), _row("c", 2, label), _row("c", 3, label)])
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        assert fresh == {"c", "d"}  # b claimed before; d claimed, with no row
    if engine.dialect.name == "postgresql":  # one statement; two where the document does not carry the rows
        assert len(statements) == (1 if label is str else 2), statements
    with Session(engine) as s:
        entries = s.scalars(select(Entry)).all()
        claimed = s.execute(select(Base.metadata.tables[tables.INBOX].c.event_id,
                                   Base.metadata.tables[tables.INBOX].c.processed_at)).all()
    assert [(e.id, e.event_id, e.fields, e.at) for e in entries] == [
        ("r-2", "c", ["a", {"é": 'q"\\'}], datetime(2026, 12, 3, 10, 0, 2, tzinfo=timezone.utc))]  # the first of c
    assert sorted(i for i, _ in claimed) == ["a", "b", "c", "d"]
    assert all(at.tzinfo is not None for _, at in claimed)
    with Session(engine) as s, s.begin():
        assert inbox.claim_and_insert_many(s, Base.metadata, _envelopes("c"), Entry.__table__, [_row("c", 4)]) == set()
        assert inbox.claim_and_insert_many(s, Base.metadata, [], Entry.__table__, []) == set()
    with Session(engine) as s:
        assert s.scalars(select(Entry.id)).all() == ["r-2"]
