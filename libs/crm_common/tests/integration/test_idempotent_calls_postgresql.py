"""A keyed call on PostgreSQL: its key's look-up reads the generation token in the same statement, and its kept
answer is written with the transaction's outbox rows in one round trip (crm_common.outbox.insert_with_events);
what a user sees stays as on SQLite (test_idempotent_calls): a repeat answers the first answer and makes nothing,
a run that loses the race for its key is rolled back, event and all, and answers the winner's answer."""
from __future__ import annotations

import pytest
from sqlalchemy import String, event, func, select
from sqlalchemy.orm import Mapped, mapped_column

from crm_common import generations, idempotency, tables
from crm_common.context import Actor
from crm_common.contracts.platform import PROBE_EMITTED, ProbeData
from crm_common.contracts.registry import RpcContract
from crm_common.db import IdMixin, make_base
from crm_common.entrypoint import entrypoint
from crm_common.idempotency import Idempotent
from crm_common.testing.races import key_lookup_misses_once
from crm_common.testing.harness import database_engine
from crm_common.testing.probe import ProbeRecordOut
from crm_common.unit_of_work import UnitOfWork

pytestmark = pytest.mark.integration
Base = make_base("idem_pg_probe")
generations.install(Base.metadata)


class Thing(IdMixin, Base):
    __tablename__ = "idem_pg_things"
    key: Mapped[str] = mapped_column(String(100))


CREATE = RpcContract("things", "create_thing", ProbeData, ProbeRecordOut)
ALICE = Actor(user_id="alice", perms={})
KEY = Idempotent("client-key-pg-0001", idempotency.fingerprint("POST /api/v1/things", "digest-1"))
runs: list[str] = []


def create(ctx, data):
    runs.append(data["key"])
    generations.cached(ctx.session, Base.metadata, "things", lambda: ("reference",))  # as a lead create reads
    thing = Thing(key=data["key"])
    ctx.session.add(thing)
    ctx.emit(PROBE_EMITTED, {"key": data["key"], "seq": data["seq"], "fail_times": 0, "always_fail": False})
    return thing


create_thing = entrypoint(CREATE, create)


@pytest.fixture
def engine(backend, tmp_path):
    if backend != "postgresql":
        pytest.skip("the round trips joined here are PostgreSQL's; SQLite runs test_idempotent_calls")
    with database_engine(backend, "idem", Base.metadata, tmp_path) as engine:
        with engine.begin() as conn:
            conn.execute(Base.metadata.tables[generations.TABLE].insert(), {"key": generations.KEY, "token": "t1"})
        runs.clear()
        yield engine


def call_noting(engine, data, key=KEY):
    uow = UnitOfWork(engine, Base.metadata, "things", None, ALICE, "req-1", rpc=True, defer_publish=True,
                     idempotent=key)
    try:
        return create_thing(type("Service", (), {"db": uow})(), data), uow.replayed
    finally:
        uow.close()


def counts(engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(table)).scalar_one()
                     for table in (Thing.__table__, Base.metadata.tables[tables.OUTBOX],
                                   Base.metadata.tables[tables.IDEMPOTENCY]))


def test_a_keyed_call_is_three_statements_and_a_repeat_makes_nothing(engine):
    statements = []

    def note(conn, cursor, statement, *rest):
        statements.append(statement)
    event.listen(engine, "before_cursor_execute", note)
    first, replayed = call_noting(engine, {"key": "Ada", "seq": 1})
    event.remove(engine, "before_cursor_execute", note)
    # the key's look-up with the token (the cached value then asks for none), the thing, the kept answer with the
    # event's row
    assert len(statements) == 3, statements
    assert "cache_generations" in statements[0] and "crm_idempotency" in statements[0]
    assert "crm_idempotency" in statements[2] and "crm_outbox" in statements[2]
    assert not replayed and counts(engine) == (1, 1, 1)
    again, replayed = call_noting(engine, {"key": "Ada", "seq": 1})
    assert again == first and replayed and runs == ["Ada"] and counts(engine) == (1, 1, 1)


def test_a_run_that_loses_the_race_for_its_key_is_rolled_back_with_its_event(engine, monkeypatch):
    first, _ = call_noting(engine, {"key": "Ada", "seq": 1})
    key_lookup_misses_once(monkeypatch)
    assert call_noting(engine, {"key": "Ada", "seq": 1}) == (first, True)  # the winner's answer: a replay
    assert runs == ["Ada", "Ada"] and counts(engine) == (1, 1, 1)  # the loser's thing and event rolled back
