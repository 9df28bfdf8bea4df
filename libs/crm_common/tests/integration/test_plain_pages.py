"""A plain page (paging.paginate_plain) gives a record's JSON columns as the ORM reads them -- empty objects and
lists, nested values, JSON null and SQL NULL -- with one scope condition and with several merged, on SQLite and
PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import JSON, String, bindparam, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from crm_common import paging
from crm_common.db import IdMixin, TimestampMixin, make_base
from crm_common.testing.harness import database_engine

pytestmark = pytest.mark.integration

Base = make_base("plainpages")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


class Card(IdMixin, TimestampMixin, Base):
    __tablename__ = "cards"
    owner_id: Mapped[str] = mapped_column(String(36))
    custom_fields: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    tags: Mapped[list | None] = mapped_column(JSON, nullable=True)


VALUES = [({}, []), ({"size": 3, "colours": ["red", "blue"], "note": "é \"q\""}, ["vip", "eu"]), (None, None),
          ({"nested": {"a": None, "b": 1.5}}, []), ({}, ["x"])]


@pytest.fixture
def engine(backend, tmp_path):
    with database_engine(backend, "plainpages", Base.metadata, tmp_path) as engine:
        with Session(engine) as session, session.begin():
            for i in range(10):
                custom, tags = VALUES[i % len(VALUES)]
                session.add(Card(id=f"c{i:02d}", owner_id=("u1", "u2")[i % 2], custom_fields=custom, tags=tags,
                                 created_at=T0 + timedelta(minutes=i), updated_at=T0))
        yield engine


@pytest.mark.parametrize("owners", [("u1",), ("u1", "u2")], ids=["one condition", "two merged"])
def test_a_plain_page_reads_json_columns_as_the_orm_does(engine, owners):
    def build():
        return [], [Card.owner_id == bindparam(f"owner_{n}") for n in range(len(owners))]

    params = {f"owner_{n}": owner for n, owner in enumerate(owners)}
    with engine.connect() as conn:
        rows, _ = paging.paginate_plain(conn, Card, ("cards", owners), build, params, limit=10)
    with Session(engine) as session:
        expected = {card.id: (card.custom_fields, card.tags)
                    for card in session.scalars(select(Card).where(Card.owner_id.in_(owners)))}
    assert len(rows) == len(expected) > 0
    assert {row["id"]: (row["custom_fields"], row["tags"]) for row in rows} == expected
    empty = [row for row in rows if row["custom_fields"] == {}]
    assert empty and all(type(row["custom_fields"]) is dict for row in empty)
    assert len({id(row["custom_fields"]) for row in empty}) == len(empty)  # each row its own object
