"""Audit entries from envelopes, privacy request bookkeeping and the administrator seed."""
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from crm_common.context import Actor
from crm_common.contracts.identity import USER_UPDATED
from crm_common.envelope import make_envelope
from crm_identity import handlers, seed_admin
from crm_identity.domain import passwords, privacy, users
from crm_identity.models import AuditEntry, Base, User


def test_an_auditable_event_becomes_one_entry_with_who_what_and_where(session):
    actor = Actor(user_id="admin-id", client_ip="10.1.2.3")
    envelope = make_envelope(USER_UPDATED, {"id": "u1", "email": "a@x.io", "full_name": "A", "team_id": None,
                                            "territory_ids": [], "roles": [], "is_active": True,
                                            "changed_fields": ["password"]}, "identity", actor, "req-1")
    handlers.dispatch(session, envelope, None)
    entry = session.query(AuditEntry).one()
    assert (entry.actor_id, entry.action, entry.entity_type, entry.entity_id) == ("admin-id", "update", "user", "u1")
    assert entry.changed_fields == ["password"] and entry.request_id == "req-1" and entry.client_ip == "10.1.2.3"


def test_events_without_entity_or_unknown_types_leave_no_entry(session):
    handlers.dispatch(session, make_envelope("platform.probe_emitted.v1", {"key": "k"}, "platform", None, None), None)
    unknown = make_envelope("platform.probe_emitted.v1", {}, "x", None, None) | {"type": "nobody.nothing.v1"}
    handlers.dispatch(session, unknown, None)
    assert session.query(AuditEntry).count() == 0


def _user(session, email="ada@example.com", roles=("customer",)):
    user = User(email=email, full_name="Ada", password_hash=passwords.hash_password("Str0ng-Passw0rd-42!"),
                roles=list(roles), territory_ids=[], contact_id="contact-1" if "customer" in roles else None)
    session.add(user)
    session.flush()
    return user


def test_erasure_anonymizes_a_portal_user_and_parts_complete_the_request(session, admin_actor):
    user = _user(session)  # a portal customer: a data subject (staff are offboarded instead)
    request = privacy.create(session, admin_actor, "erasure", "ADA@example.com")
    part, erased = privacy.own_part(session, request)
    assert erased == [user] and user.email.endswith("@erased.invalid") and not user.is_active
    assert users.by_email(session, "ada@example.com") is None
    privacy.apply_part(session, part)
    assert request.status == "pending" and request.parts["identity"]["status"] == "done"
    for service in ("sales", "service_desk", "marketing"):
        privacy.apply_part(session, {"request_id": request.id, "service": service, "status": "done", "counts": {}})
    assert request.status == "pending"
    privacy.apply_part(session, {"request_id": request.id, "service": "analytics", "status": "failed", "counts": {}})
    assert request.status == "failed" and request.completed_at is not None


def test_a_part_from_one_service_cannot_answer_for_another(session, admin_actor):
    request = privacy.create(session, admin_actor, "export", "x@example.com")
    envelope = make_envelope("sales.privacy_part_completed.v1", {}, "sales", None, None)
    envelope["data"] = {"request_id": request.id, "service": "identity", "status": "done", "counts": {}}
    handlers.privacy_part_completed(session, envelope, None)
    assert request.parts["identity"]["status"] == "pending"


def test_seed_admin_is_idempotent_and_generates_a_strong_password():
    engine = create_engine("sqlite://", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    email, created, generated = seed_admin.seed(engine, email="Root@Example.com")
    assert email == "root@example.com" and created and generated and not passwords.policy_errors(generated)
    again = seed_admin.seed(engine, email="root@example.com")
    assert again == ("root@example.com", False, None)
    _, created, shown = seed_admin.seed(engine, email="other@example.com", password="Given-Passw0rd-123")
    assert created and shown is None
