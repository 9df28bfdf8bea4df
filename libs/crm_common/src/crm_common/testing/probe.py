"""Two tiny services that exercise the kernel in tests and benchmarks (no business rules).

ProbeProducer writes a record and emits platform.probe_emitted through the outbox.
ProbeConsumer applies each event once, failing first as the event asks (to test retries).
"""
from __future__ import annotations

import itertools
import os
import time

import eventlet
from crm_common.rpc import rpc
from marshmallow import Schema, fields
from sqlalchemy import Integer, String, func, select, text
from sqlalchemy.orm import Mapped, mapped_column

from crm_common.contracts.platform import PROBE_EMITTED, ProbeData
from crm_common.contracts.registry import RpcContract
from crm_common.entrypoint import entrypoint, handler_table, reads
from crm_common.db import IdMixin, make_base, utcnow
from crm_common.dependencies import Database
from crm_common.service_base import KernelService
from crm_common.stream import event_stream
from crm_common.unit_of_work import UnitOfWork

Base = make_base("probe")


class ProbeRecord(IdMixin, Base):
    __tablename__ = "probe_records"
    key: Mapped[str] = mapped_column(String(100), index=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)


class ProbeApplied(Base):
    __tablename__ = "probe_applied"
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    occurred_at: Mapped[str] = mapped_column(String(40))
    applied_at: Mapped[str] = mapped_column(String(40))


def _write(uow: UnitOfWork, key, seq, fail_times=0, always_fail=False) -> None:
    """One record and its event, in one transaction of `uow`."""
    with uow.transaction() as session:
        session.add(ProbeRecord(key=key, seq=seq))
        uow.emit(PROBE_EMITTED, {"key": key, "seq": seq, "fail_times": fail_times, "always_fail": always_fail})


class ProbeRecordOut(Schema):
    id = fields.String()
    key = fields.String()
    seq = fields.Integer()


PROBE_CREATE = RpcContract("probe_producer", "create", ProbeData, ProbeRecordOut,
                           description="A record and its event through the entrypoint convention (Idempotency-Key tests).")


def _create(ctx, data):
    record = ProbeRecord(key=data["key"], seq=data["seq"])
    ctx.session.add(record)
    ctx.emit(PROBE_EMITTED, {"key": data["key"], "seq": data["seq"], "fail_times": 0, "always_fail": False})
    return record


class ProbeProducer(KernelService):
    name = "probe_producer"
    db = Database(Base.metadata)

    create = entrypoint(PROBE_CREATE, _create)

    @rpc
    def write(self, key, seq=0, fail_times=0, always_fail=False):
        _write(self.db, key, seq, fail_times, always_fail)
        return {"key": key, "seq": seq}

    @rpc
    def drive(self, key, count, rate):
        """Writes records `key` 0..count-1 at `rate` a second, each in a transaction of its own with its event,
        as an open-loop load (a slow write never delays the next one, so latency is not hidden by the load
        generator waiting); answers with the time it took once every write has committed."""
        pool = eventlet.GreenPool(10_000)
        began = time.monotonic()
        for seq in range(count):
            delay = began + seq / rate - time.monotonic()
            if delay > 0:
                eventlet.sleep(delay)
            pool.spawn_n(self._write_one, key, seq)
        pool.waitall()
        return {"written": count, "seconds": time.monotonic() - began}

    def _write_one(self, key, seq):
        uow = UnitOfWork(self.db.engine, self.db.metadata, self.name, self.db.publisher, None, None)
        try:
            _write(uow, key, seq)
        finally:
            uow.close()

    @rpc
    def echo(self, value):
        return value

    @rpc
    def pause(self, seconds):
        """Answers after `seconds` (a late reply for the RPC client's timeout tests)."""
        time.sleep(seconds)  # green under nameko's eventlet
        return seconds

    @rpc
    def slow_query(self, seconds):
        """A query that keeps the database busy for `seconds` (PostgreSQL's pg_sleep)."""
        with self.db.read() as conn:
            conn.execute(text("SELECT pg_sleep(:seconds)"), {"seconds": seconds})
        return seconds

    @rpc
    def emitted(self, key):
        """Ids of the events written to the outbox for records of `key`."""
        table = Base.metadata.tables["crm_outbox"]
        with self.db.transaction() as session:
            rows = session.execute(select(table.c.envelope)).scalars().all()
        return sorted(e["event_id"] for e in rows if e["data"].get("key") == key)


_attempts: dict = {}
_batches: dict = {}  # key -> {seq: the number of the transaction that applied it}, in memory like _attempts
_transactions = itertools.count(1)


@reads(PROBE_EMITTED, fields=ProbeData)
def on_probe(ctx, data, envelope):
    # attempts are counted in memory, outside the handler's transaction, so that a failed attempt still counts
    attempts = _attempts[envelope["event_id"]] = _attempts.get(envelope["event_id"], 0) + 1
    if data["always_fail"] or attempts <= data["fail_times"]:
        raise RuntimeError(f"probe failure {attempts} for {data['key']}")
    transaction = ctx.session.info.setdefault("probe_transaction", next(_transactions))
    _batches.setdefault(data["key"], {})[str(data["seq"])] = transaction  # the events applied together
    ctx.session.add(ProbeApplied(event_id=envelope["event_id"], key=data["key"], seq=data["seq"],
                                 occurred_at=envelope["occurred_at"], applied_at=utcnow().isoformat()))


PROBE_HANDLERS = handler_table(on_probe)


class ProbeConsumer(KernelService):
    name = "probe_consumer"
    db = Database(Base.metadata)

    on_event = event_stream(PROBE_HANDLERS, batch=os.environ.get("CRM_PROBE_BATCH") == "1")  # tests of both ways

    @rpc
    def applied(self, key):
        with self.db.transaction() as session:
            rows = session.execute(select(ProbeApplied.seq, func.count()).where(ProbeApplied.key == key)
                                   .group_by(ProbeApplied.seq)).all()
        return {str(seq): count for seq, count in rows}

    @rpc
    def transactions(self, key):
        """{seq: the number of the transaction that applied it} for records of `key` (events of one batch
        share it; a rolled back attempt's number is replaced by its retry's)."""
        return _batches.get(key, {})

    @rpc
    def applied_events(self, key):
        with self.db.transaction() as session:
            return sorted(session.execute(select(ProbeApplied.event_id).where(ProbeApplied.key == key)).scalars())

    @rpc
    def applied_times(self, key):
        with self.db.transaction() as session:
            rows = session.execute(select(ProbeApplied.occurred_at, ProbeApplied.applied_at)
                                   .where(ProbeApplied.key == key)).all()
        return [[a, b] for a, b in rows]
