"""A batch event (data with `ids`) becomes one audit entry per id."""
from crm_common.context import Actor
from crm_common.envelope import make_envelope
from crm_identity import handlers
from crm_identity.models import AuditEntry

LEADS_IMPORTED = "sales.leads_imported.v1"


def _batch(ids):
    leads = [{"id": i, "owner_id": "r1", "team_id": None, "territory_id": None, "status": "new", "source": "import",
              "email": None, "company": "C"} for i in ids]
    return make_envelope(LEADS_IMPORTED, {"job_id": "job-1", "ids": ids, "leads": leads}, "sales",
                         Actor(user_id="admin-id", client_ip="10.1.2.3"), "req-7", entity="lead", action="create")


def test_an_imported_batch_leaves_one_create_entry_per_lead(session, ctx_of):
    envelope = _batch([f"lead-{n}" for n in range(250)])
    handlers.dispatch(ctx_of(session), envelope)
    entries = session.query(AuditEntry).all()
    assert sorted(e.entity_id for e in entries) == sorted(f"lead-{n}" for n in range(250))
    assert {(e.action, e.entity_type, e.actor_id, e.request_id, e.client_ip, e.event_type) for e in entries} == {
        ("create", "lead", "admin-id", "req-7", "10.1.2.3", LEADS_IMPORTED)}
    assert [e.event_id for e in entries if e.event_id] == [envelope["event_id"]]  # the event is findable once


def test_two_batches_do_not_collide_and_an_empty_batch_leaves_nothing(session, ctx_of):
    handlers.dispatch(ctx_of(session), _batch(["a", "b"]))
    handlers.dispatch(ctx_of(session), _batch(["c"]))
    handlers.dispatch(ctx_of(session), _batch([]))
    session.flush()
    assert sorted(e.entity_id for e in session.query(AuditEntry)) == ["a", "b", "c"]
