"""db.insert_record: a new object's row by one prepared INSERT leaves the row and the object as the ORM's flush
would (defaults, version, JSON null), the object in the session like a flushed one."""
from __future__ import annotations

from sqlalchemy import JSON, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from crm_common.db import IdMixin, TimestampMixin, insert_record, make_base, make_engine
from crm_common.versioning import VersionMixin

Base = make_base("insert_record_test")


class Thing(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "things"
    name: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default="new")
    score: Mapped[int] = mapped_column(Integer, default=0)
    tags: Mapped[list | None] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(String(50))


def _rows(session):
    table = Thing.__table__
    return {row.name: row for row in session.connection().execute(select(table))}


def test_the_row_and_the_object_are_what_a_flush_leaves():
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        flushed, inserted = Thing(name="a", tags=None, score=None), Thing(name="b", tags=None, score=None)
        session.add(flushed)
        session.flush()
        insert_record(session, inserted)
        plain_flushed, plain_inserted = Thing(name="c"), Thing(name="d")
        session.add(plain_flushed)
        session.flush()
        insert_record(session, plain_inserted)
        rows = _rows(session)
        for one, other in ((flushed, inserted), (plain_flushed, plain_inserted)):
            for name in ("status", "score", "tags", "note", "version"):
                assert getattr(one, name) == getattr(other, name), name
                assert getattr(rows[one.name], name) == getattr(rows[other.name], name), name
            assert other.id and other.created_at is not None and rows[other.name].id == other.id
        assert inserted.tags is None and plain_inserted.tags == []  # None set on purpose is JSON null, as flushed

        # in the session as a flushed object: found by its key, nothing to write, a change is an UPDATE
        assert session.get(Thing, inserted.id) is inserted and not session.new and not session.dirty
        inserted.note = "changed"
        session.flush()
        assert inserted.version == 2 and _rows(session)["b"].note == "changed"
