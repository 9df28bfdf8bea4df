"""A batched event stream's worker gets a unit of work (the Database dependency's) that commits its batch and
publishes its events at the worker's teardown, which nameko runs after the result is handled: the batch is
acknowledged, and the next one taken, before the broker's confirms of its events are waited for (the events are in
the outbox from the commit on: the relay has them either way). A one-by-one stream's worker publishes right after
its commit, as before."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from crm_common import outbox
from crm_common.contracts.platform import PROBE_EMITTED
from crm_common.db import make_base, make_engine
from crm_common.dependencies import Database
from crm_common.stream import BatchedEventStream, EventStream

Base = make_base("publishafterack")


class Recording:
    def __init__(self):
        self.sent: list[dict] = []

    def publish_all(self, envelopes):
        self.sent.extend(envelopes)


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def worker(engine, entrypoint):
    """The Database dependency as nameko sets it up, and a worker of `entrypoint` with its unit of work."""
    database, publisher = Database(Base.metadata), Recording()
    database.container, database.attr_name = SimpleNamespace(service_name="probe"), "db"
    database.engine, database.publisher, database.marks = engine, publisher, None
    ctx = SimpleNamespace(context_data={}, entrypoint=entrypoint, service=SimpleNamespace())
    ctx.service.db = database.get_dependency(ctx)
    return database, ctx, publisher


def test_a_batched_streams_events_go_at_its_teardown_after_the_batch_is_handled(engine):
    database, ctx, publisher = worker(engine, BatchedEventStream(batch=True))
    with ctx.service.db.transaction():
        ctx.service.db.emit(PROBE_EMITTED, {"key": "k", "seq": 1, "fail_times": 0, "always_fail": False})
    assert publisher.sent == [] and outbox.unpublished_count(engine, Base.metadata) == 1  # committed, not yet sent
    database.worker_teardown(ctx)  # after the stream's handle_result (the batch's ack)
    assert [e["data"]["key"] for e in publisher.sent] == ["k"]


def test_a_one_by_one_streams_events_go_right_after_its_commit(engine):
    database, ctx, publisher = worker(engine, EventStream())
    with ctx.service.db.transaction():
        ctx.service.db.emit(PROBE_EMITTED, {"key": "k", "seq": 1, "fail_times": 0, "always_fail": False})
    assert [e["data"]["key"] for e in publisher.sent] == ["k"]
    database.worker_teardown(ctx)
    assert len(publisher.sent) == 1
