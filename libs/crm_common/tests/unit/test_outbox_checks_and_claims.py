"""The kernel's per-event paths: an event's contract check (remembered per shape), its outbox row, the inbox
claim of a batch, and time-ordered ids."""
from __future__ import annotations

import os
import uuid

import pytest
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_common import inbox, outbox, tables
from crm_common.contracts.platform import PROBE_EMITTED
from crm_common.contracts.registry import event
from crm_common.db import make_base, make_engine, new_ordered_id
from crm_common.unit_of_work import UnitOfWork

Base = make_base("kernelchecks")


class Line(Schema):
    sku = fields.String(required=True)


class ShapedData(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["open", "won"]))
    count = fields.Integer(load_default=0)
    owner_id = fields.String(allow_none=True)
    tags = fields.List(fields.String(), load_default=list)
    lines = fields.List(fields.Nested(Line), load_default=list)


class RangeData(Schema):
    low = fields.Integer(required=True)
    high = fields.Integer(required=True)

    @validates_schema
    def _ordered(self, data, **_):
        if data["low"] > data["high"]:
            raise ValidationError("low above high")


SHAPED = event("kernelchecks", "shaped", 1, ShapedData, "A test event with validators, lists and nested data.")
RANGED = event("kernelchecks", "ranged", 1, RangeData, "A test event checked by a schema-level validator.")


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'k.db'}")
    Base.metadata.create_all(engine)
    return engine


def record(engine, type_, data):
    with Session(engine) as session, session.begin():
        return outbox.record(session, Base.metadata, "kernelchecks", type_, data, None, "rid")


def good(**changes):
    return {"id": "r-1", "status": "open", "count": 2, "owner_id": "u-1", "tags": ["a"], "lines": [{"sku": "S"}],
            **changes}


@pytest.mark.parametrize("bad", [
    good(status="bogus"),  # the same shape as an accepted event, a value its validator refuses
    good(tags=["a", 3]),  # an item of a list of the wrong type
    good(lines=[{"sku": "S"}, {"code": "x"}]),  # a nested item off its schema
    good(count="x"),  # a value of the wrong type
    good(owner_id=None, status=None),  # None where none is allowed
    {k: v for k, v in good().items() if k != "status"},  # a required key missing
    good(extra=1),  # an unknown key
])
def test_an_event_off_its_contract_is_refused_every_time_after_its_shape_was_accepted(engine, bad):
    for _ in range(2):
        record(engine, SHAPED, good())
        with pytest.raises(ValueError, match="does not match its contract"):
            record(engine, SHAPED, bad)
    with Session(engine) as session:  # only the accepted events were written
        assert len(session.execute(select(Base.metadata.tables[tables.OUTBOX].c.id)).all()) == 2


def test_a_schema_level_rule_is_checked_on_every_event(engine):
    record(engine, RANGED, {"low": 1, "high": 2})
    with pytest.raises(ValueError, match="low above high"):
        record(engine, RANGED, {"low": 3, "high": 2})  # the shape of the accepted one


def test_the_outbox_row_holds_the_envelope_the_writer_published(engine):
    sent = []

    class Publisher:
        def publish(self, envelope, **_):
            sent.append(envelope)

    work = UnitOfWork(engine, Base.metadata, "kernelchecks", Publisher(), None, "rid-2")
    with work.transaction():
        work.emit(SHAPED, good(tags=["é", "\u2603"]))
        work.emit(PROBE_EMITTED, {"key": "k", "seq": 7})
    table = Base.metadata.tables[tables.OUTBOX]
    with Session(engine) as session:
        rows = session.execute(select(table.c.event_id, table.c.type, table.c.envelope, table.c.created_at)
                               .order_by(table.c.id)).all()
    assert [row.envelope for row in rows] == sent and len(sent) == 2
    assert [(row.event_id, row.type) for row in rows] == [(e["event_id"], e["type"]) for e in sent]
    assert all(row.created_at.tzinfo is not None for row in rows)


def envelopes(*ids):
    return [{"event_id": i, "type": PROBE_EMITTED} for i in ids]


@pytest.mark.parametrize("old_sqlite", [False, True])
def test_a_batch_claims_each_new_event_once(engine, monkeypatch, old_sqlite):
    if old_sqlite:  # before 3.35 SQLite has no RETURNING: one statement per event, the same answers
        monkeypatch.setattr(engine.dialect.dbapi, "sqlite_version_info", (3, 31, 1))
    with Session(engine) as s, s.begin():
        assert inbox.claim_many(s, Base.metadata, envelopes("a", "b", "a")) == {"a", "b"}
    with Session(engine) as s, s.begin():
        assert inbox.claim_many(s, Base.metadata, envelopes("b", "c")) == {"c"}  # b was processed
        assert not inbox.claim(s, Base.metadata, envelopes("c")[0])
    with pytest.raises(RuntimeError), Session(engine) as s, s.begin():
        assert inbox.claim_many(s, Base.metadata, envelopes("d")) == {"d"}
        raise RuntimeError("the handler failed")  # its claim is rolled back with it
    many = [f"e-{i}" for i in range(700)]  # more than one statement's rows
    with Session(engine) as s, s.begin():
        assert inbox.claim_many(s, Base.metadata, envelopes("d", *many, "a")) == {"d", *many}
        assert inbox.claim_many(s, Base.metadata, []) == set()
    with Session(engine) as s:
        table = Base.metadata.tables[tables.INBOX]
        rows = s.execute(select(table.c.event_id, table.c.type, table.c.processed_at)).all()
    assert len(rows) == 704 and {row.type for row in rows} == {PROBE_EMITTED}
    assert all(row.processed_at.tzinfo is not None for row in rows)


def test_ordered_ids_stay_unique_across_many_and_in_a_forked_child():
    ids = [new_ordered_id() for _ in range(5000)]  # several blocks of random bits
    assert len(set(ids)) == 5000 and ids == sorted(ids, key=lambda i: i[:13])  # milliseconds never go back
    assert all(uuid.UUID(i).version == 7 and uuid.UUID(i).variant == uuid.RFC_4122 for i in ids[:50])
    new_ordered_id()  # the parent's pool holds bits when it forks
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, ",".join(new_ordered_id() for _ in range(20)).encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 100_000).decode().split(",")
    os.waitpid(pid, 0)
    parent = [new_ordered_id() for _ in range(20)]
    assert {i[19:] for i in child}.isdisjoint(i[19:] for i in parent)  # the random parts differ
