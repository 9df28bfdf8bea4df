"""An imported batch's audit entries (written with COPY on PostgreSQL) read back alike on both backends."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_common.context import SYSTEM, Actor
from crm_common.context import Context
from crm_common.envelope import make_envelope
from crm_common.testing.harness import database_engine
from crm_identity import handlers
from crm_identity.models import AuditEntry, Base

pytestmark = pytest.mark.integration
LEADS_IMPORTED = "sales.leads_imported.v1"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_batch_of_imported_leads_leaves_one_entry_each(backend, tmp_path):
    with database_engine(backend, "identity", Base.metadata, tmp_path) as engine:
        ids = [f"lead-{n}" for n in range(300)]
        leads = [{"id": i, "owner_id": "r1", "team_id": None, "territory_id": None, "status": "new",
                  "source": "import", "email": None, "company": "C"} for i in ids]
        envelope = make_envelope(LEADS_IMPORTED, {"job_id": "job-1", "ids": ids, "leads": leads}, "sales",
                                 Actor(user_id="admin-id", client_ip="10.1.2.3"), "req-7", entity="lead",
                                 action="create")  # as sales' outbox writes it
        with Session(engine) as session, session.begin():
            handlers.dispatch(Context(session, SYSTEM, lambda *a, **k: {}), envelope)
        with Session(engine) as session:
            entries = session.scalars(select(AuditEntry)).all()
        assert sorted(e.entity_id for e in entries) == sorted(ids)
        assert {(e.action, e.entity_type, e.actor_id, e.request_id, e.client_ip, tuple(e.changed_fields)) for e in entries} == {
            ("create", "lead", "admin-id", "req-7", "10.1.2.3", ())}
        assert {e.occurred_at.isoformat() for e in entries} == {envelope["occurred_at"].replace("Z", "+00:00")}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_stream_claims_and_audits_an_event_once_a_batch_and_an_unaudited_one_too(backend, tmp_path):
    """The audit stream's claim and entry of a lone event (handlers.claim_and_audit_many of one event: one
    statement on PostgreSQL): a repeat of
    an event is no new entry and no second inbox row; a batch and an event naming no change go the long way."""
    from crm_common import tables
    actor = Actor(user_id="rep-id", client_ip="10.1.2.3")
    created = make_envelope("sales.lead_created.v1", {"id": "lead-1", "owner_id": "rep-id",
                                                     "changed_fields": ["status"]}, "sales", actor, "req-1",
                            entity="lead", action="create")
    batch = make_envelope(LEADS_IMPORTED, {"job_id": "job-1", "ids": ["lead-2", "lead-3"], "leads": []}, "sales",
                          actor, "req-2", entity="lead", action="create")
    unaudited = make_envelope("platform.probe_emitted.v1", {"key": "k"}, "platform", None, None)
    with database_engine(backend, "identity", Base.metadata, tmp_path) as engine:
        firsts, repeats = [], []
        for answers in (firsts, repeats):
            for envelope in (created, batch, unaudited):
                with Session(engine) as session, session.begin():
                    ctx = Context(session, SYSTEM, lambda *a, **k: {}, None, None, _Uow(Base.metadata))
                    answers.append(handlers.claim_and_audit_many(ctx, [envelope]) == [envelope])
        assert firsts == [True, True, True] and repeats == [False, False, False]
        with Session(engine) as session:
            entries = session.scalars(select(AuditEntry)).all()
            claimed = session.execute(select(Base.metadata.tables[tables.INBOX].c.event_id)).scalars().all()
        assert sorted(e.entity_id for e in entries) == ["lead-1", "lead-2", "lead-3"]
        [one] = [e for e in entries if e.entity_id == "lead-1"]
        assert (one.event_id, one.event_type, one.action, one.actor_id, one.client_ip, one.changed_fields,
                one.request_id) == (created["event_id"], "sales.lead_created.v1", "create", "rep-id", "10.1.2.3",
                                    ["status"], "req-1")
        assert one.occurred_at.isoformat() == created["occurred_at"].replace("Z", "+00:00")
        assert sorted(claimed) == sorted(e["event_id"] for e in (created, batch, unaudited))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_transactions_events_are_claimed_and_audited_together_each_once(backend, tmp_path):
    """The audit stream's claims and entries for the events of one transaction (handlers.claim_and_audit_many):
    the new events, each once, in order, each with its entries; an event given twice, or again in a later
    transaction, is no new entry and is not handed back to be applied."""
    from crm_common import tables
    actor = Actor(user_id="rep-id", client_ip="10.1.2.3")
    created = [make_envelope("sales.lead_created.v1", {"id": f"lead-{n}", "owner_id": "rep-id"}, "sales", actor,
                             f"req-{n}", entity="lead", action="create") for n in range(3)]
    batch = make_envelope(LEADS_IMPORTED, {"job_id": "job-1", "ids": ["lead-8", "lead-9"], "leads": []}, "sales",
                          actor, "req-8", entity="lead", action="create")
    unaudited = make_envelope("platform.probe_emitted.v1", {"key": "k"}, "platform", None, None)
    first = [created[0], batch, created[1], unaudited, created[0]]
    then = [created[1], created[2], batch]
    with database_engine(backend, "identity", Base.metadata, tmp_path) as engine:
        answers = []
        for envelopes in (first, then):
            with Session(engine) as session, session.begin():
                ctx = Context(session, SYSTEM, lambda *a, **k: {}, None, None, _Uow(Base.metadata))
                answers.append([e["event_id"] for e in handlers.claim_and_audit_many(ctx, envelopes)])
        assert answers == [[e["event_id"] for e in (created[0], batch, created[1], unaudited)],
                           [created[2]["event_id"]]]
        with Session(engine) as session:
            entries = session.scalars(select(AuditEntry)).all()
            claimed = session.execute(select(Base.metadata.tables[tables.INBOX].c.event_id)).scalars().all()
        assert sorted(e.entity_id for e in entries) == ["lead-0", "lead-1", "lead-2", "lead-8", "lead-9"]
        assert {e.entity_id: e.request_id for e in entries if e.event_id in {c["event_id"] for c in created}} == {
            "lead-0": "req-0", "lead-1": "req-1", "lead-2": "req-2"}
        assert sorted(claimed) == sorted(e["event_id"] for e in (*created, batch, unaudited))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_batch_of_events_is_claimed_and_audited_in_one_statement_on_postgresql(backend, tmp_path):
    """A transaction's events of one entry each are claimed and audited together (inbox.claim_and_insert_many):
    on PostgreSQL one statement for the lot, not a claim and an insert; each entry as an event's own would be
    (changed fields, time, actor), and a repeat in a later batch writes nothing."""
    from sqlalchemy import event
    from crm_common import tables
    actor = Actor(user_id="rep-id", client_ip="10.1.2.3", api_key_id="key-1")
    updated = [make_envelope("sales.lead_updated.v1", {"id": f"lead-{n}", "changed_fields": ["status", "email"]},
                             "sales", actor, f"req-{n}", entity="lead", action="update") for n in range(4)]
    with database_engine(backend, "identity", Base.metadata, tmp_path) as engine:
        statements = []
        event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        answers = []
        for envelopes in (updated[:3], [updated[2], updated[3]]):
            with Session(engine) as session, session.begin():
                ctx = Context(session, SYSTEM, lambda *a, **k: {}, None, None, _Uow(Base.metadata))
                first = len(statements)
                answers.append([e["event_id"] for e in handlers.claim_and_audit_many(ctx, envelopes)])
                written = statements[first:]
        if backend == "postgresql":
            assert len(written) == 1, written
        assert answers == [[e["event_id"] for e in updated[:3]], [updated[3]["event_id"]]]
        with Session(engine) as session:
            entries = session.scalars(select(AuditEntry).order_by(AuditEntry.entity_id)).all()
            claimed = session.execute(select(Base.metadata.tables[tables.INBOX].c.event_id)).scalars().all()
        assert [(e.entity_id, e.event_id, e.action, e.changed_fields, e.actor_id, e.api_key_id, e.client_ip,
                 e.request_id, e.occurred_at.isoformat()) for e in entries] == [
            (f"lead-{n}", u["event_id"], "update", ["status", "email"], "rep-id", "key-1", "10.1.2.3", f"req-{n}",
             u["occurred_at"].replace("Z", "+00:00")) for n, u in enumerate(updated)]
        assert sorted(claimed) == sorted(e["event_id"] for e in updated)


class _Uow:
    def __init__(self, metadata):
        self.metadata = metadata
