"""The service's transaction of a batch of events (`AutomationService.on_event`, the batched stream): when none of
its events has a handler of the service, nothing reads what the intake writes before the commit, so on PostgreSQL
the runs, snapshots and notifications go in with the outbox rows, in one round trip after the reads; a batch with a
handler's event (a privacy request reads runs, snapshots and notifications) has them written before its handlers
run. What is written and read back is the same either way, on SQLite and PostgreSQL."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event, func, select, text

from crm_common import tables
from crm_common.unit_of_work import UnitOfWork
from crm_automation.domain import runs as run_log
from crm_automation.domain import workflows
from crm_automation.models import Base, EndedRuns, Notification, RecordSnapshot
from crm_automation.service import AutomationService

ADA = {"id": "lead-ada", "first_name": "Ada", "last_name": "Lovelace", "email": "ada.lovelace@example.com",
       "company": "Engines", "status": "qualified", "owner_id": "rep-1", "changed_fields": ["status"]}


@pytest.fixture
def engine(backend_engine):
    return backend_engine


def stream(engine, envelopes: list[dict]) -> list[str]:
    """The stream's worker with these events as one batch (its unit of work as the Database dependency gives it;
    publishing left out)."""
    uow = UnitOfWork(engine, Base.metadata, "automation", None, None, None, defer_publish=True)
    try:
        return AutomationService.on_event(type("Service", (), {"db": uow})(), envelopes)
    finally:
        uow.close()


def define(store, name: str, company: str) -> str:
    return store.tx(workflows.create, {
        "name": name, "active": True, "trigger": {"type": "field_change", "resource": "lead", "field": "status"},
        "conditions": {"all": [{"field": "company", "op": "eq", "value": company}]},
        "actions": [{"type": "notify", "users": ["rep-1"], "title": "{{ record.first_name }} is qualified"}]}).id


def lead(envelope, n: int) -> dict:
    return envelope("sales.lead_updated.v1", {**ADA, "id": f"lead-{n}", "email": f"lead{n}@example.com"}, "lead",
                    "update")


def statements_of(engine, work) -> list[str]:
    sent: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)
    event.listen(engine, "before_cursor_execute", note)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return sent


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_batchs_runs_snapshots_and_notifications_go_in_with_its_outbox_rows(engine, backend_store, envelope):
    notifying, skipping = define(backend_store, "engines", "Engines"), define(backend_store, "others", "Other")
    batch = [lead(envelope, n) for n in range(3)]
    sent = statements_of(engine, lambda: stream(engine, batch))
    written = [s for s in sent if s.lstrip().upper().startswith(("INSERT", "BEGIN; INSERT"))
               and tables.INBOX not in s]
    if engine.dialect.name == "postgresql":  # one round trip: every row of the batch, the outbox's with them
        assert len(written) == 1
        assert all(name in written[0] for name in (RecordSnapshot.__tablename__, EndedRuns.__tablename__,
                                                   Notification.__tablename__, tables.OUTBOX))
    else:
        assert len(written) == 4
    page = backend_store.tx(run_log.page, {"sort": "created_at", "limit": 50})["items"]
    assert [(r.workflow_id, r.status, r.record_id) for r in page] == [
        (workflow, status, f"lead-{n}") for n in range(3)
        for workflow, status in ((notifying, "succeeded"), (skipping, "skipped"))]
    titles = backend_store.tx(lambda ctx: [n.title for n in ctx.session.scalars(
        select(Notification).order_by(Notification.created_at, Notification.id))])
    assert titles == ["Ada is qualified"] * 3
    assert count(engine, Base.metadata.tables[tables.OUTBOX]) == 6  # a notification and a run finished each
    kept = backend_store.tx(lambda ctx: {s.record_id: s.data["email"] for s in ctx.session.scalars(
        select(RecordSnapshot))})
    assert kept == {f"lead-{n}": f"lead{n}@example.com" for n in range(3)}


def test_a_privacy_erasure_in_the_batch_finds_what_the_intake_wrote_before_it(engine, backend_store, envelope):
    """The erasure's handler runs after the batch's intake, in the same transaction: the runs, snapshot and
    notification of the person's lead, written by the intake, are there for it to erase."""
    define(backend_store, "engines", "Engines")
    erasure = envelope("identity.privacy_requested.v1", {"request_id": str(uuid.uuid4()), "kind": "erasure",
                                                          "email": ADA["email"]}, producer="identity")
    assert stream(engine, [envelope("sales.lead_updated.v1", ADA, "lead", "update"), erasure]) == ["applied"] * 2
    with engine.connect() as conn:
        for table in (RecordSnapshot, EndedRuns, Notification):
            rows = conn.execute(text(f"SELECT * FROM {table.__tablename__}")).all()
            assert "lovelace" not in str(rows).lower(), table.__tablename__
    assert count(engine, EndedRuns.__table__) == 1  # the run kept, its record erased
    assert count(engine, RecordSnapshot.__table__) == 0


def test_a_batchs_decision_holds_for_its_own_transaction_only(engine, backend_store, envelope):
    """One worker's unit of work, two batches: the first, with no handler's event, leaves its rows to its outbox
    rows' round trip; the second holds a privacy erasure, whose handler must find what its own intake wrote (a
    decision of the first transaction kept on the session would leave the person's values in the tables)."""
    define(backend_store, "engines", "Engines")
    uow = UnitOfWork(engine, Base.metadata, "automation", None, None, None, defer_publish=True)
    service = type("Service", (), {"db": uow})()
    erasure = envelope("identity.privacy_requested.v1", {"request_id": str(uuid.uuid4()), "kind": "erasure",
                                                          "email": ADA["email"]}, producer="identity")
    try:
        assert AutomationService.on_event(service, [lead(envelope, 1)]) == ["applied"]
        assert AutomationService.on_event(service, [envelope("sales.lead_updated.v1", ADA, "lead", "update"),
                                                    erasure]) == ["applied"] * 2
    finally:
        uow.close()
    with engine.connect() as conn:
        for table in (RecordSnapshot, EndedRuns, Notification):
            rows = conn.execute(text(f"SELECT * FROM {table.__tablename__}")).all()
            assert ADA["email"] not in str(rows).lower(), table.__tablename__  # lead-1 is another Lovelace
    assert count(engine, EndedRuns.__table__) == 2  # each event's run kept, the erased one's record cut out
    assert count(engine, RecordSnapshot.__table__) == 1  # lead-1's
