"""A service's generic record_changed event names its resource and action in its data; its producer's outbox
puts them on the envelope, the audit trail takes them from there and refuses to invent them when they are
missing."""
from crm_common.context import Actor
from crm_common.envelope import make_envelope
from crm_identity import handlers
from crm_identity.models import AuditEntry

RECORD_CHANGED = "sales.record_changed.v1"
ACTIVITY_REMINDER_DUE = "sales.activity_reminder_due.v1"
CONTACT_MERGED = "sales.contact_merged.v1"


def _event(type_, data, entity=None, action=None):
    """The envelope as the producer's outbox writes it: a generic event's entity and action come from its
    data (None when missing), another's from its contract (given here)."""
    if type_ == RECORD_CHANGED:
        entity, action = data.get("entity"), data.get("action")
    return make_envelope(type_, data, "sales", Actor(user_id="rep-1", client_ip="10.0.0.9"), "req-42", entity, action)


def test_a_deleted_record_is_audited_under_the_entity_and_action_its_event_names(session, ctx_of):
    envelope = _event(RECORD_CHANGED, {"entity": "product", "id": "p-1", "action": "delete", "changed_fields": []})
    handlers.dispatch(ctx_of(session), envelope)
    handlers.dispatch(ctx_of(session), _event(RECORD_CHANGED, {"entity": "target", "id": "t-1", "action": "update",
                                                               "changed_fields": ["amount"]}))
    session.flush()
    entries = {e.entity_id: e for e in session.query(AuditEntry)}
    assert (entries["p-1"].entity_type, entries["p-1"].action, entries["p-1"].event_id) == (
        "product", "delete", envelope["event_id"])
    assert (entries["t-1"].entity_type, entries["t-1"].action, entries["t-1"].changed_fields) == (
        "target", "update", ["amount"])
    assert {(e.actor_id, e.request_id, e.client_ip) for e in entries.values()} == {("rep-1", "req-42", "10.0.0.9")}


def test_a_generic_event_without_its_entity_is_not_audited_and_a_reminder_is_no_change(session, ctx_of):
    handlers.dispatch(ctx_of(session), _event(RECORD_CHANGED, {"id": "x", "action": "delete"}))
    handlers.dispatch(ctx_of(session), _event(ACTIVITY_REMINDER_DUE, {"id": "a-1", "type": "task",
                                                                      "remind_at": "2026-12-03T10:00:00Z"}))
    session.flush()
    assert session.query(AuditEntry).count() == 0


def test_a_merge_leaves_a_delete_entry_for_each_record_merged_away(session, ctx_of):
    envelope = _event(CONTACT_MERGED, {"id": "keep", "account_id": None, "first_name": "Ada", "last_name": "L",
                                       "email": None, "owner_id": "rep-1", "merged_ids": ["gone-1", "gone-2"]},
                      entity="contact", action="update")
    handlers.dispatch(ctx_of(session), envelope)
    session.flush()
    entries = {e.entity_id: e for e in session.query(AuditEntry)}
    assert (entries["keep"].action, entries["keep"].event_id) == ("update", envelope["event_id"])
    assert {(e.entity_id, e.entity_type, e.action, tuple(e.changed_fields), e.event_id, e.actor_id)
            for e in entries.values() if e.entity_id != "keep"} == {
        ("gone-1", "contact", "delete", ("merged_into_id",), None, "rep-1"),
        ("gone-2", "contact", "delete", ("merged_into_id",), None, "rep-1")}


def test_the_event_stream_audits_every_type_and_applies_those_identity_handles(session, ctx_of):
    stranger = _event("service_desk.ticket_created.v1", {"id": "t-9"}, entity="ticket", action="create")
    assert stranger["type"] not in handlers.HANDLERS  # audited all the same (every=)
    assert handlers.dispatch(ctx_of(session), stranger) is False
    assert handlers.dispatch(ctx_of(session), _event(RECORD_CHANGED, {"entity": "lead", "id": "l-1",
                                                                      "action": "delete"})) is False
    session.flush()
    assert sorted((e.entity_type, e.entity_id) for e in session.query(AuditEntry)) == [("lead", "l-1"),
                                                                                       ("ticket", "t-9")]
    assert set(handlers.HANDLERS) == {f"{s}.privacy_part_completed.v1" for s in
                                      ("identity", "sales", "service_desk", "marketing", "analytics",
                                       "integration", "automation")} | {
        "sales.territory_members_changed.v1"}
