"""Marking published outbox rows on both backends (PostgreSQL: one array parameter for all the ids): the ids
given and only those are marked, a row marked already keeps its time, and ids with no row change nothing."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_common import outbox, tables
from crm_common.contracts.platform import PROBE_EMITTED
from crm_common.db import make_base
from crm_common.testing.harness import database_engine

pytestmark = pytest.mark.integration

Base = make_base("outboxmarks")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    with database_engine(request.param, "outboxmarks", Base.metadata, tmp_path) as engine:
        yield engine


def _published(engine) -> dict:
    table = Base.metadata.tables[tables.OUTBOX]
    with engine.connect() as conn:
        return dict(conn.execute(select(table.c.event_id, table.c.published_at)).all())


def test_marks_set_the_published_time_of_the_ids_given_and_of_no_other_row(engine):
    with Session(engine) as session, session.begin():
        ids = [outbox.record(session, Base.metadata, "probe", PROBE_EMITTED, {"key": f"k{n}"}, None, None)["event_id"]
               for n in range(5)]
    earlier = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    table = Base.metadata.tables[tables.OUTBOX]
    with engine.begin() as conn:
        conn.execute(table.update().where(table.c.event_id == ids[0]).values(published_at=earlier))
    marks = outbox.Marks(engine, Base.metadata)
    marks.add([ids[0], ids[1], ids[2], "no-such-event"])
    assert marks.flush() == 4
    published = _published(engine)
    assert published[ids[0]].replace(tzinfo=timezone.utc) == earlier  # marked before: left as it was
    assert published[ids[1]] is not None and published[ids[2]] is not None
    assert published[ids[3]] is None and published[ids[4]] is None
    assert outbox.unpublished_count(engine, Base.metadata) == 2


def test_the_rows_a_unit_of_work_records_hold_the_instant_they_were_written_in_any_session_time_zone(engine,
                                                                                                     monkeypatch):
    """write_recorded's rows, stamped with one time (on PostgreSQL bound as its ISO text): the same instant read
    back, with the session in a time zone far from UTC; the relay's grace compares with it."""
    from sqlalchemy import text
    stamped = datetime(2026, 3, 29, 0, 30, 0, 123456, tzinfo=timezone.utc)
    monkeypatch.setattr(outbox, "utcnow", lambda: stamped)
    with Session(engine) as session, session.begin():
        if engine.dialect.name == "postgresql":
            session.execute(text("SET LOCAL TIME ZONE 'Pacific/Kiritimati'"))  # UTC+14
        session.info["crm_outbox"] = []
        for n in range(3):
            outbox.record(session, Base.metadata, "probe", PROBE_EMITTED, {"key": f"k{n}"}, None, None)
        outbox.write_recorded(session, Base.metadata)
    table = Base.metadata.tables[tables.OUTBOX]
    with engine.connect() as conn:
        times = conn.execute(select(table.c.created_at)).scalars().all()
    assert len(times) == 3 and all(at == stamped for at in times)
    assert outbox.publish_pending(engine, Base.metadata, _Nowhere(), min_age=10 ** 6) == 0  # not old enough
    monkeypatch.setattr(outbox, "utcnow", lambda: stamped.replace(hour=1))
    assert outbox.publish_pending(engine, Base.metadata, _Nowhere(), min_age=1800) == 3  # 30 minutes old


class _Nowhere:
    def publish(self, envelope, **_):
        pass


def test_a_recorded_envelope_is_written_and_sent_as_one_text_read_back_as_it_was_recorded(engine):
    """write_recorded's envelope text (jsontext.text, characters beyond ASCII as themselves): the row holds it,
    the publisher sends its UTF-8 bytes, and both read back as the envelope recorded, quotes and all."""
    import json

    from crm_common.bus import Publisher
    key = "Caf\u00e9 \"Q\" \u4e2d\u6587 \U0001f389 \\ \n"
    with Session(engine) as session, session.begin():
        session.info["crm_outbox"] = []
        recorded = outbox.record(session, Base.metadata, "probe", PROBE_EMITTED, {"key": key}, None, None)
        outbox.write_recorded(session, Base.metadata)
    assert "Caf\u00e9" in recorded.text and json.loads(recorded.text) == recorded
    table = Base.metadata.tables[tables.OUTBOX]
    with engine.connect() as conn:
        stored = conn.execute(select(table.c.envelope)).scalar_one()
    assert stored == dict(recorded) and stored["data"]["key"] == key
    publisher = Publisher.__new__(Publisher)  # its message only, no connection
    publisher.user = "probe"
    body = publisher._message(recorded, "events.probe", None, None)[2]
    assert body == recorded.text.encode() and json.loads(body) == recorded
    assert json.loads(publisher._message(stored, "events.probe", None, None)[2]) == recorded  # the relay's: dumped
    odd = {**stored, "data": {"key": "a\ud800b"}}  # a lone surrogate: json's escaped ASCII, as before
    assert json.loads(publisher._message(odd, "events.probe", None, None)[2]) == odd
