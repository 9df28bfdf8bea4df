"""A list sorted by a calendar-day column pages through every row (the cursor carries the day)."""
from __future__ import annotations

import base64
import json
from datetime import date

import pytest
from sqlalchemy import Date, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from crm_common.errors import ServiceError
from crm_common.paging import paginate


class Base(DeclarativeBase):
    pass


class Spend(Base):
    __tablename__ = "spends"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    incurred_on: Mapped[date] = mapped_column(Date)


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)  # spends and deals
    with Session(engine) as s:
        s.add_all([Spend(id=f"s{n}", incurred_on=date(2026, 11, 1 + n % 3)) for n in range(7)])
        s.commit()
        yield s


@pytest.mark.parametrize("sort", ["incurred_on", "-incurred_on"])
@pytest.mark.parametrize("plain", [False, True])
def test_pages_by_a_day_column_cover_every_row_once(session, sort, plain):
    seen, cursor = [], None
    while True:
        rows, cursor = paginate(session, select(Spend), Spend, sort=sort, limit=2, cursor=cursor,
                                sortable=("incurred_on",), plain=plain)
        seen += [row["id"] if plain else row.id for row in rows]
        if cursor is None:
            break
    assert sorted(seen) == [f"s{n}" for n in range(7)] and len(seen) == 7


def test_a_forged_day_cursor_is_a_422_not_a_crash(session):
    for value in ({"d": "not-a-day"}, {"dt": "nor-a-time"}):
        forged = base64.urlsafe_b64encode(json.dumps([value, "s1"]).encode()).decode()
        with pytest.raises(ServiceError) as refused:
            paginate(session, select(Spend), Spend, sort="incurred_on", cursor=forged, sortable=("incurred_on",))
        assert refused.value.code == "validation_failed"


class Deal(Base):
    __tablename__ = "deals"
    id: Mapped[int] = mapped_column(primary_key=True)
    amount: Mapped[int] = mapped_column()


@pytest.mark.parametrize("value, row_id", [("abc", 1), (5, "x"), (True, 1), (1.5, 1), ({"d": "2026-11-01"}, 1),
                                           ([1], 1)])
@pytest.mark.parametrize("plain", [False, True])
def test_a_cursor_whose_value_or_id_has_the_wrong_type_is_a_422(session, value, row_id, plain):
    """PostgreSQL raises on comparing an integer column with a text: a forged cursor must stop at the gate."""
    forged = base64.urlsafe_b64encode(json.dumps([value, row_id]).encode()).decode()
    with pytest.raises(ServiceError) as refused:
        paginate(session, select(Deal), Deal, sort="amount", cursor=forged, sortable=("amount",), plain=plain)
    assert refused.value.code == "validation_failed" and "cursor" in refused.value.errors


def test_a_day_cursor_with_a_time_in_it_is_refused(session):
    forged = base64.urlsafe_b64encode(json.dumps([{"dt": "2026-11-01T10:00:00"}, "s1"]).encode()).decode()
    with pytest.raises(ServiceError):
        paginate(session, select(Spend), Spend, sort="incurred_on", cursor=forged, sortable=("incurred_on",))
