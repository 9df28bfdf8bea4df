"""A keyed call's transaction on PostgreSQL in fewer round trips (crm_common.folded, db.insert_record's
`with_last_writes`): its BEGIN with the key's look-up, its record's row and COMMIT with the kept answer and the
outbox rows; the rows as the plain path writes them; a call that fails leaves its connection as the driver would
(no transaction open, not in autocommit), and the next transaction on it is atomic again."""
from __future__ import annotations

import pytest
from psycopg2 import extensions, extras
from sqlalchemy import JSON, String, cast, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from crm_common import folded, generations, idempotency, prepared, tables
from crm_common.context import Actor
from crm_common.contracts.platform import PROBE_EMITTED, ProbeData
from crm_common.contracts.registry import RpcContract
from crm_common.db import IdMixin, TimestampMixin, insert_record, make_base, utcnow
from crm_common.entrypoint import entrypoint
from crm_common.errors import ServiceError
from crm_common.idempotency import Idempotent
from crm_common.testing.harness import database_engine
from crm_common.testing.probe import ProbeRecordOut
from crm_common.unit_of_work import UnitOfWork
from crm_common.versioning import VersionMixin

pytestmark = pytest.mark.integration
Base = make_base("folded_probe")
generations.install(Base.metadata)


class Thing(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "folded_things"
    key: Mapped[str] = mapped_column(String(100))
    tags: Mapped[list | None] = mapped_column(JSON, default=list)
    extra: Mapped[dict | None] = mapped_column(JSON, default=dict)


CREATE = RpcContract("things", "create_thing", ProbeData, ProbeRecordOut)
ALICE = Actor(user_id="alice", perms={})


def create(ctx, data):
    if data["key"] == "refused":
        raise ServiceError("conflict", "refused by the domain")
    if data["key"] == "half-written":  # a row sent to the server at once, then the call fails
        insert_record(ctx.session, Thing(key="half", tags=None, extra={}))
        ctx.emit(PROBE_EMITTED, {"key": "half", "seq": data["seq"], "fail_times": 0, "always_fail": False})
        raise ServiceError("conflict", "refused after a write")
    generations.cached(ctx.session, Base.metadata, "things", lambda: ("reference",))
    thing = Thing(key=data["key"], tags=None, extra={"n": data["seq"]})
    insert_record(ctx.session, thing, with_last_writes=True)
    ctx.emit(PROBE_EMITTED, {"key": data["key"], "seq": data["seq"], "fail_times": 0, "always_fail": False})
    return thing


create_thing = entrypoint(CREATE, create)


@pytest.fixture
def engine(backend, tmp_path):
    if backend != "postgresql":
        pytest.skip("the round trips folded here are PostgreSQL's; SQLite runs test_idempotent_calls")
    # one connection: the next call reuses it
    with database_engine(backend, "folded", Base.metadata, tmp_path, pool_size=1, max_overflow=0) as engine:
        with engine.begin() as conn:
            conn.execute(Base.metadata.tables[generations.TABLE].insert(), {"key": generations.KEY, "token": "t1"})
        yield engine


@pytest.fixture
def round_trips():
    """The driver's round trips (each a wait of its wait callback: BEGIN and COMMIT sent on their own too)."""
    count = []
    before = extensions.get_wait_callback()

    def wait(conn):
        count.append(1)
        extras.wait_select(conn)
    extensions.set_wait_callback(wait)
    yield count
    extensions.set_wait_callback(before)


def call(engine, data, key: str, idempotent=True):
    uow = UnitOfWork(engine, Base.metadata, "things", None, ALICE, "req-1", rpc=True, defer_publish=True,
                     idempotent=Idempotent(key, idempotency.fingerprint("POST /things", key)) if idempotent else None)
    try:
        return create_thing(type("Service", (), {"db": uow})(), data)
    finally:
        uow.close()


def counts(engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(table)).scalar_one()
                     for table in (Thing.__table__, Base.metadata.tables[tables.OUTBOX],
                                   Base.metadata.tables[tables.IDEMPOTENCY]))


def test_a_keyed_create_is_two_round_trips_and_its_row_is_the_plain_one(engine, round_trips):
    first = call(engine, {"key": "Ada", "seq": 1}, "key-1")
    assert len(round_trips) == 2  # BEGIN with the key's look-up; the row, the kept answer, the event and COMMIT
    assert counts(engine) == (1, 1, 1)
    round_trips.clear()
    assert call(engine, {"key": "Ada", "seq": 1}, "key-1") == first  # a repeat: its kept answer
    assert len(round_trips) == 2 and counts(engine) == (1, 1, 1)  # BEGIN with the look-up; COMMIT
    with Session(engine) as session, session.begin():  # the plain path: the row sent at once
        insert_record(session, Thing(key="Bob", tags=None, extra={"n": 1}))
    table = Thing.__table__
    with engine.connect() as conn:
        rows = {row.key: row for row in conn.execute(
            select(table, cast(table.c.tags, String).label("tags_text"), table.c.tags.is_(None).label("sql_null")))}
    assert rows["Ada"].tags_text == rows["Bob"].tags_text == "null" and not rows["Ada"].sql_null  # JSON null
    assert rows["Ada"].extra == rows["Bob"].extra == {"n": 1} and rows["Ada"].id == first["id"]
    assert rows["Ada"].version == rows["Bob"].version == 1
    assert rows["Ada"].created_at <= rows["Ada"].updated_at and rows["Ada"].created_at.tzinfo is not None


def test_a_failed_keyed_call_leaves_its_connection_as_the_driver_would(engine, round_trips):
    with pytest.raises(ServiceError):
        call(engine, {"key": "refused", "seq": 1}, "key-2")
    with engine.connect() as conn:  # the pool's one connection, back from the failed call
        driver = conn.connection.driver_connection
        assert not driver.autocommit and driver.info.transaction_status == extensions.TRANSACTION_STATUS_IDLE
        conn.rollback()
    with pytest.raises(RuntimeError), engine.begin() as conn:  # atomic again: nothing of a failed one stays
        conn.execute(Thing.__table__.insert(), {"id": "t-1", "key": "half", "created_at": utcnow(),
                                                "updated_at": utcnow(), "version": 1})
        raise RuntimeError("fail the transaction")
    assert counts(engine) == (0, 0, 0)
    call(engine, {"key": "Cy", "seq": 3}, "key-3")
    assert counts(engine) == (1, 1, 1)


def test_a_keyed_call_failing_after_a_write_leaves_nothing_written(engine, round_trips):
    """The folded BEGIN really opens the transaction: a row sent before the call fails is rolled back with it."""
    with pytest.raises(ServiceError):
        call(engine, {"key": "half-written", "seq": 1}, "key-4")
    assert len(round_trips) >= 2  # BEGIN with the look-up; the row on its own (then the rollback)
    assert counts(engine) == (0, 0, 0)
    call(engine, {"key": "Di", "seq": 4}, "key-4")  # the key is free: the failed call kept nothing
    assert counts(engine) == (1, 1, 1)


def test_a_read_inside_a_folded_transaction_is_not_prepared(engine):
    """crm_common.prepared prepares only outside a transaction (a failed PREPARE would abort it): a folded
    transaction's driver is in autocommit, but its connection is in a transaction."""
    uow = UnitOfWork(engine, Base.metadata, "things", None, ALICE, "req-1", rpc=True)
    try:
        with uow.transaction() as session:
            assert folded.begin(session)
            conn = session.connection()
            conn.execute(select(func.count()).select_from(Thing.__table__))  # BEGIN goes with it
            names, rows = prepared.rows(conn, select(Thing.__table__.c.key).where(Thing.__table__.c.key == "x"), {})
            assert rows == [] and not conn.connection.info.get(prepared._INFO_KEY)
    finally:
        uow.close()
