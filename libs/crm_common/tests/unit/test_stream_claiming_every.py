"""`event_stream(..., every_claims=True)`: the stream's `every` claims each event itself with its own write
(inbox.claim_and_insert, identity's audit trail); a repeat is then neither written again nor dispatched, and a
failed event's claim and write roll back together, so its retry applies it. SQLite, no broker."""
from __future__ import annotations

import pytest
from sqlalchemy import String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from crm_common import inbox, tables
from crm_common.contracts.platform import PROBE_EMITTED
from crm_common.db import IdMixin, make_base, make_engine
from crm_common.envelope import make_envelope
from crm_common.stream import event_stream
from crm_common.unit_of_work import UnitOfWork

Base = make_base("claimingevery")


class Seen(IdMixin, Base):
    __tablename__ = "seen_events"
    event_id: Mapped[str] = mapped_column(String(36), unique=True)


applied: list[str] = []


def seen(ctx, envelope) -> bool:
    return inbox.claim_and_insert(ctx.session, ctx.uow.metadata, envelope, Seen.__table__,
                                  {"id": envelope["event_id"], "event_id": envelope["event_id"]})


def handler(ctx, data, envelope):
    if data.get("key") == "fail" and not applied.count("failed once"):
        applied.append("failed once")
        raise RuntimeError("the handler failed")
    applied.append(data["key"])


handler.crm_reads = ((PROBE_EMITTED,), None)
on_event = event_stream({PROBE_EMITTED: handler}, every=seen, every_claims=True)


class Consumer:
    def __init__(self, engine):
        self.db = UnitOfWork(engine, Base.metadata, "probe", None, None, None)


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    Base.metadata.create_all(engine)
    applied.clear()
    yield engine
    engine.dispose()


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_an_event_is_claimed_written_and_dispatched_once(engine):
    consumer, event = Consumer(engine), make_envelope(PROBE_EMITTED, {"key": "k"}, "platform", None, None)
    assert on_event(consumer, event) == "applied"
    assert on_event(consumer, event) == "duplicate"
    assert on_event(consumer, [event, make_envelope(PROBE_EMITTED, {"key": "j"}, "platform", None, None)]) == [
        "duplicate", "applied"]
    assert applied == ["k", "j"]
    assert count(engine, Seen.__table__) == 2 and count(engine, Base.metadata.tables[tables.INBOX]) == 2


def test_a_failed_event_rolls_back_its_claim_and_write_and_its_retry_applies_it(engine):
    consumer, event = Consumer(engine), make_envelope(PROBE_EMITTED, {"key": "fail"}, "platform", None, None)
    with pytest.raises(RuntimeError):
        on_event(consumer, event)
    assert count(engine, Seen.__table__) == 0 and count(engine, Base.metadata.tables[tables.INBOX]) == 0
    assert on_event(consumer, event) == "applied" and applied == ["failed once", "fail"]


def seen_batch(ctx, envelopes) -> list:
    """A batch hook that claims (analytics' log): the events new to its table, each once, in order."""
    return [e for e in envelopes if seen(ctx, e)]


on_batch = event_stream({PROBE_EMITTED: handler}, every_batch=seen_batch, every_claims=True, batch=True)


def test_a_claiming_batch_hook_takes_every_event_and_only_its_new_ones_are_dispatched(engine):
    consumer = Consumer(engine)
    first, second = (make_envelope(PROBE_EMITTED, {"key": k}, "platform", None, None) for k in ("k", "j"))
    assert on_batch(consumer, [first, first]) == ["applied", "duplicate"]
    assert on_batch(consumer, [first, second]) == ["duplicate", "applied"]
    assert on_batch(consumer, second) == "duplicate"
    assert applied == ["k", "j"] and count(engine, Seen.__table__) == 2
