from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from crm_common import inbox, outbox, tables
from crm_common.config import database_url, redact_uri
from crm_common.contracts.platform import PROBE_EMITTED
from crm_common.db import IdMixin, TimestampMixin, make_base, make_engine
from crm_common.errors import ServiceError
from crm_common.paging import paginate
from crm_common.unit_of_work import UnitOfWork
from crm_common.versioning import VersionMixin, check_version

Base = make_base("outboxtest")


class Note(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "notes"
    text: Mapped[str] = mapped_column(String(50))


class Sku(IdMixin, Base):
    __tablename__ = "skus"
    code: Mapped[str] = mapped_column(String(20), unique=True)
    label: Mapped[str] = mapped_column(String(20), nullable=False)


class RecordingPublisher:
    def __init__(self, fail=False):
        self.sent, self.fail = [], fail

    def publish(self, envelope, **_):
        if self.fail:
            raise ConnectionError("broker away")
        self.sent.append(envelope)


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'o.db'}")
    Base.metadata.create_all(engine)
    return engine


def uow(engine, publisher):
    return UnitOfWork(engine, Base.metadata, "probe", publisher, None, "rid-1")


def test_events_are_published_only_after_commit_and_marked(engine):
    publisher = RecordingPublisher()
    work = uow(engine, publisher)
    with work.transaction() as session:
        session.add(Note(text="a"))
        work.emit(PROBE_EMITTED, {"key": "a"})
        assert publisher.sent == []  # nothing leaves before the commit
    assert [e["data"]["key"] for e in publisher.sent] == ["a"]
    assert outbox.unpublished_count(engine, Base.metadata) == 0


def test_a_rolled_back_transaction_leaves_no_event(engine):
    publisher = RecordingPublisher()
    work = uow(engine, publisher)
    with pytest.raises(RuntimeError):
        with work.transaction() as session:
            session.add(Note(text="b"))
            work.emit(PROBE_EMITTED, {"key": "b"})
            raise RuntimeError("business rule failed")
    assert publisher.sent == [] and outbox.unpublished_count(engine, Base.metadata) == 0
    with Session(engine) as s:
        assert s.execute(select(Note)).first() is None


def test_what_could_not_be_published_is_left_for_the_relay(engine):
    work = uow(engine, RecordingPublisher(fail=True))
    with work.transaction():
        work.emit(PROBE_EMITTED, {"key": "c"})
    assert outbox.unpublished_count(engine, Base.metadata) == 1
    relay = RecordingPublisher()
    assert outbox.publish_pending(engine, Base.metadata, relay, min_age=0) == 1
    assert outbox.publish_pending(engine, Base.metadata, relay, min_age=0) == 0
    assert [e["data"]["key"] for e in relay.sent] == ["c"]


def test_the_relay_leaves_rows_younger_than_its_grace_to_their_writer(engine, monkeypatch):
    work = uow(engine, RecordingPublisher(fail=True))
    with work.transaction():
        work.emit(PROBE_EMITTED, {"key": "d"})
    relay = RecordingPublisher()
    monkeypatch.setenv("CRM_OUTBOX_RELAY_GRACE", "30")
    assert outbox.publish_pending(engine, Base.metadata, relay) == 0  # may still be in flight: not raced
    monkeypatch.setenv("CRM_OUTBOX_RELAY_GRACE", "0")
    assert outbox.publish_pending(engine, Base.metadata, relay) == 1
    assert [e["data"]["key"] for e in relay.sent] == ["d"]


def test_after_commit_the_writer_publishes_in_order_and_a_failure_leaves_the_rest(engine):
    class FailsOnSecond(RecordingPublisher):
        def publish(self, envelope, **_):
            if len(self.sent) == 1:
                raise ConnectionError("broker away")
            self.sent.append(envelope)

    publisher = FailsOnSecond()
    work = uow(engine, publisher)
    with work.transaction():
        for key in ("e1", "e2", "e3"):
            work.emit(PROBE_EMITTED, {"key": key})
    assert [e["data"]["key"] for e in publisher.sent] == ["e1"]
    relay = RecordingPublisher()
    assert outbox.publish_pending(engine, Base.metadata, relay, min_age=0) == 2
    assert [e["data"]["key"] for e in relay.sent] == ["e2", "e3"]


def test_a_services_writers_mark_what_they_published_together(engine):
    class AllAtOnce(RecordingPublisher):
        def publish_all(self, envelopes):
            self.batches = getattr(self, "batches", []) + [len(envelopes)]
            self.sent.extend(envelopes)

    publisher, marks = AllAtOnce(), outbox.Marks(engine, Base.metadata)
    work = UnitOfWork(engine, Base.metadata, "probe", publisher, None, "rid-1", marks=marks)
    with work.transaction():
        for key in ("m1", "m2"):
            work.emit(PROBE_EMITTED, {"key": key})
    with work.transaction():
        work.emit(PROBE_EMITTED, {"key": "m3"})
    assert publisher.batches == [2, 1]  # a transaction's events together, confirmed once
    assert [e["data"]["key"] for e in publisher.sent] == ["m1", "m2", "m3"]
    assert outbox.unpublished_count(engine, Base.metadata) == 3  # published; marked by the next flush
    assert outbox.publish_pending(engine, Base.metadata, RecordingPublisher()) == 0  # within the relay's grace
    assert marks.flush() == 3 and marks.flush() == 0
    assert outbox.unpublished_count(engine, Base.metadata) == 0


def test_an_rpcs_events_wait_for_its_reply_then_go_in_commit_order(engine):
    """A unit of work that defers (an RPC's) commits as always but publishes after the reply is sent
    (publish_deferred, from the Database dependency's worker_teardown): nothing before, everything after."""
    publisher = RecordingPublisher()
    work = UnitOfWork(engine, Base.metadata, "probe", publisher, None, "rid-1", defer_publish=True)
    with work.transaction() as session:
        session.add(Note(text="g"))
        work.emit(PROBE_EMITTED, {"key": "g1"})
    with work.transaction():
        work.emit(PROBE_EMITTED, {"key": "g2"})
    assert publisher.sent == [] and outbox.unpublished_count(engine, Base.metadata) == 2  # committed, not yet sent
    work.publish_deferred()
    assert [e["data"]["key"] for e in publisher.sent] == ["g1", "g2"]
    assert outbox.unpublished_count(engine, Base.metadata) == 0
    work.publish_deferred()
    assert len(publisher.sent) == 2  # once


def test_two_workers_events_reach_the_broker_in_the_order_their_transactions_committed(engine):
    """Worker A commits a create and replies; the caller's next call (worker B) commits an update of the same
    record and publishes before A's teardown has published: the broker still gets A's event first, as a
    consumer needs it (an update of a record it has never seen otherwise). Timers and handlers, which publish
    at once, join the same order."""
    publisher, order = RecordingPublisher(), outbox.CommitOrder()
    a = UnitOfWork(engine, Base.metadata, "probe", publisher, None, "rid-a", defer_publish=True, order=order)
    b = UnitOfWork(engine, Base.metadata, "probe", publisher, None, "rid-b", defer_publish=True, order=order)
    timer = UnitOfWork(engine, Base.metadata, "probe", publisher, None, "rid-t", order=order)
    with a.transaction():
        a.emit(PROBE_EMITTED, {"key": "created"})
    with b.transaction():
        b.emit(PROBE_EMITTED, {"key": "updated"})
    b.publish_deferred()  # B's teardown runs first
    assert [e["data"]["key"] for e in publisher.sent] == ["created", "updated"]
    with timer.transaction():
        timer.emit(PROBE_EMITTED, {"key": "reminded"})  # published at once, after the others
    a.publish_deferred()  # A's teardown: its event went with B's, nothing is sent twice
    assert [e["data"]["key"] for e in publisher.sent] == ["created", "updated", "reminded"]
    assert outbox.unpublished_count(engine, Base.metadata) == 0


def test_a_failed_batch_is_left_to_the_relay_unmarked(engine):
    class Away(RecordingPublisher):
        def publish_all(self, envelopes):
            raise ConnectionError("broker away")

    marks = outbox.Marks(engine, Base.metadata)
    work = UnitOfWork(engine, Base.metadata, "probe", Away(), None, "rid-1", marks=marks)
    with work.transaction():
        work.emit(PROBE_EMITTED, {"key": "f1"})
    assert marks.flush() == 0 and outbox.unpublished_count(engine, Base.metadata) == 1
    relay = RecordingPublisher()
    assert outbox.publish_pending(engine, Base.metadata, relay, min_age=0) == 1


def test_an_event_must_match_its_contract(engine):
    work = uow(engine, RecordingPublisher())
    with pytest.raises(ValueError):
        with work.transaction():
            work.emit(PROBE_EMITTED, {"seq": "not a number"})
    with pytest.raises(RuntimeError):
        work.emit(PROBE_EMITTED, {"key": "outside a transaction"})


def test_inbox_remembers_processed_events(engine):
    envelope = {"event_id": "e-1", "type": PROBE_EMITTED}
    with Session(engine) as s, s.begin():
        assert inbox.claim(s, Base.metadata, envelope)  # not seen before: claimed
    with Session(engine) as s, s.begin():
        assert not inbox.claim(s, Base.metadata, envelope)  # a redelivery: already processed
    assert tables.INBOX in Base.metadata.tables


def test_a_rolled_back_effect_releases_its_claim(engine):
    envelope = {"event_id": "e-2", "type": PROBE_EMITTED}
    with pytest.raises(RuntimeError):
        with Session(engine) as s, s.begin():
            assert inbox.claim(s, Base.metadata, envelope)
            raise RuntimeError("the handler failed")
    with Session(engine) as s, s.begin():
        assert inbox.claim(s, Base.metadata, envelope)  # the retry gets to apply it


def test_cursor_pages_neither_skip_nor_repeat(engine):
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with Session(engine) as s, s.begin():
        for i in range(25):  # pairs share a timestamp: the id breaks ties
            s.add(Note(text=f"n{i:02d}", created_at=start + timedelta(minutes=i // 2)))
    seen, cursor = [], None
    with Session(engine) as s:
        while True:
            rows, cursor = paginate(s, select(Note), Note, "-created_at", 7, cursor, ("created_at", "text"))
            seen.extend(r.text for r in rows)
            if cursor is None:
                break
        assert sorted(seen) == sorted(f"n{i:02d}" for i in range(25)) and len(seen) == 25
        asc, _ = paginate(s, select(Note), Note, "text", 3, None, ("created_at", "text"))
        assert [r.text for r in asc] == ["n00", "n01", "n02"]
        with pytest.raises(ServiceError):
            paginate(s, select(Note), Note, "-created_at", 7, "garbage!", ("created_at",))
        with pytest.raises(ServiceError):
            paginate(s, select(Note), Note, "password", 7, None, ("created_at",))


def test_plain_pages_hold_the_same_rows_as_orm_pages(engine):
    from crm_common.db import reader
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with Session(engine) as s, s.begin():
        for i in range(12):
            s.add(Note(text=f"p{i:02d}", created_at=start + timedelta(minutes=i // 3)))
    names = ("id", "text", "created_at", "updated_at", "version")
    with Session(engine) as s:
        query = select(Note).where(Note.text != "p05")
        cursor, orm_pages = None, []
        while True:
            rows, cursor = paginate(s, query, Note, "-created_at", 4, cursor, ("created_at",))
            orm_pages.append(([tuple(getattr(r, n) for n in names) for r in rows], cursor))
            if cursor is None:
                break
    with reader(engine).connect() as conn:  # a Core connection, as UnitOfWork.read gives
        cursor, plain_pages = None, []
        while True:
            rows, cursor = paginate(conn, query, Note, "-created_at", 4, cursor, ("created_at",), plain=True)
            plain_pages.append(([tuple(r[n] for n in names) for r in rows], cursor))
            if cursor is None:
                break
    assert plain_pages == orm_pages and sum(len(rows) for rows, _ in orm_pages) == 11


def test_versions_bump_on_update_and_stale_versions_are_refused(engine):
    with Session(engine, expire_on_commit=False) as s, s.begin():
        note = Note(text="v")
        s.add(note)
    assert note.version == 1
    with Session(engine, expire_on_commit=False) as s, s.begin():
        note = s.get(Note, note.id)
        note.text = "w"
    assert note.version == 2
    check_version(note, 2)
    with pytest.raises(ServiceError) as stale:
        check_version(note, 1)
    assert stale.value.status == 412


def test_configuration_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CRM_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("SALES_DATABASE_URL", raising=False)
    assert database_url("sales") == f"sqlite:///{tmp_path / 'sales.db'}"
    monkeypatch.setenv("SALES_DATABASE_URL", "postgresql+psycopg2://sales:secret@db/sales")
    assert database_url("sales").endswith("@db/sales")
    assert redact_uri("amqp://guest:secret@host:5672/") == "amqp://guest:***@host:5672/"


def test_a_lost_race_on_a_unique_value_is_a_conflict_and_other_integrity_errors_stay_bugs(engine):
    with uow(engine, RecordingPublisher()).transaction() as session:
        session.add(Sku(code="A-1", label="first"))
    with pytest.raises(ServiceError) as caught:
        with uow(engine, RecordingPublisher()).transaction() as session:
            session.add(Sku(code="A-1", label="second"))
    assert caught.value.code == "conflict" and "A-1" not in caught.value.detail
    from sqlalchemy.exc import IntegrityError
    with pytest.raises(IntegrityError):
        with uow(engine, RecordingPublisher()).transaction() as session:
            session.add(Sku(code="B-1", label=None))
    with Session(engine) as session:
        assert session.scalars(select(Sku.label)).all() == ["first"]


def test_a_batch_of_events_is_written_together_and_a_shape_off_its_contract_writes_none(engine):
    table = Base.metadata.tables[tables.OUTBOX]
    with Session(engine) as session, session.begin():
        envelopes = outbox.record_batch(session, Base.metadata, "probe", PROBE_EMITTED,
                                        [{"key": f"k{i}", "seq": i} for i in range(3)], None, "rid-9")
    with Session(engine) as session:
        rows = session.execute(select(table.c.event_id, table.c.envelope).order_by(table.c.created_at)).all()
    assert sorted(row.envelope["data"]["key"] for row in rows) == ["k0", "k1", "k2"]
    assert {row.event_id for row in rows} == {e["event_id"] for e in envelopes}
    with pytest.raises(ValueError, match="does not match its contract"):
        with Session(engine) as session, session.begin():  # a key as a number: another shape, checked
            outbox.record_batch(session, Base.metadata, "probe", PROBE_EMITTED,
                                [{"key": "k3", "seq": 3}, {"key": 4, "seq": 4}], None, "rid-9")
    with Session(engine) as session:
        assert len(session.execute(select(table.c.event_id)).all()) == 3  # the refused batch wrote nothing
