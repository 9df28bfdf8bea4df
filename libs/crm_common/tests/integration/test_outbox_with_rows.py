"""Rows given to `outbox.insert_with_events` go in with the transaction's outbox rows, many of each (more than a
statement's CHUNK), every one written; on PostgreSQL in the one round trip of the outbox's insert, elsewhere by
the caller as usual."""
from __future__ import annotations

import pytest
from sqlalchemy import String, event, func, select
from sqlalchemy.orm import Mapped, mapped_column

from crm_common import bulk, outbox, tables
from crm_common.contracts.platform import PROBE_EMITTED
from crm_common.db import make_base
from crm_common.testing.harness import database_engine
from crm_common.unit_of_work import UnitOfWork

pytestmark = pytest.mark.integration
Base = make_base("with_rows_probe")


class Row(Base):
    __tablename__ = "with_rows_things"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(100))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    with database_engine(request.param, "with_rows", Base.metadata, tmp_path) as engine:
        yield engine


def test_many_rows_and_events_of_a_transaction_are_all_written_in_one_round_trip_on_postgresql(engine):
    count = bulk.RowsInsert.CHUNK + 50
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda conn, cursor, statement, *args: sent.append(statement))
    uow = UnitOfWork(engine, Base.metadata, "things", None, None, None, defer_publish=True)
    try:
        with uow.transaction() as session:
            rows = [[f"row-{n}", f"key-{n}"] for n in range(count)]
            if not outbox.insert_with_events(session, Row.__table__, *rows):
                bulk.rows_insert(Row.__table__, engine.dialect)(session.connection(), rows)
            for n in range(2 * count):
                uow.emit(PROBE_EMITTED, {"key": f"key-{n}", "seq": n, "fail_times": 0, "always_fail": False})
    finally:
        uow.close()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Row.__table__)).scalar_one() == count
        assert conn.execute(select(func.count()).select_from(Base.metadata.tables[tables.OUTBOX])).scalar_one() == (
            2 * count)
    inserts = [s for s in sent if "INSERT" in s.upper()]
    if engine.dialect.name == "postgresql":
        assert len(inserts) == 1 and inserts[0].count("INSERT") == 2 + 3  # the rows in 2 statements, the events in 3
    else:
        assert len(inserts) == 2
