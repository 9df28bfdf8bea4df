"""Audit entries from envelopes, privacy request bookkeeping and the administrator seed."""
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from crm_common.context import Actor
from crm_common.envelope import make_envelope
from crm_identity import handlers, seed_admin
from crm_identity.domain import passwords, privacy, users
from crm_identity.models import AuditEntry, Base, PrivacyRequest, User
from crm_identity_contracts import USER_UPDATED


def test_an_auditable_event_becomes_one_entry_with_who_what_and_where(session, ctx_of):
    actor = Actor(user_id="admin-id", client_ip="10.1.2.3")
    envelope = make_envelope(USER_UPDATED, {"id": "u1", "email": "a@x.io", "full_name": "A", "team_id": None,
                                            "territory_ids": [], "roles": [], "is_active": True,
                                            "changed_fields": ["password"]}, "identity", actor, "req-1",
                             entity="user", action="update")  # as identity's outbox writes it
    handlers.dispatch(ctx_of(session), envelope)
    entry = session.query(AuditEntry).one()
    assert (entry.actor_id, entry.action, entry.entity_type, entry.entity_id) == ("admin-id", "update", "user", "u1")
    assert entry.changed_fields == ["password"] and entry.request_id == "req-1" and entry.client_ip == "10.1.2.3"


def test_events_without_entity_or_unknown_types_leave_no_entry(session, ctx_of):
    handlers.dispatch(ctx_of(session), make_envelope("platform.probe_emitted.v1", {"key": "k"}, "platform", None, None))
    unknown = make_envelope("platform.probe_emitted.v1", {}, "x", None, None) | {"type": "nobody.nothing.v1"}
    handlers.dispatch(ctx_of(session), unknown)
    assert session.query(AuditEntry).count() == 0


def _user(session, email="ada@example.com", roles=("customer",)):
    user = User(email=email, full_name="Ada", password_hash=passwords.hash_password("Str0ng-Passw0rd-42!"),
                roles=list(roles), territory_ids=[], contact_id="contact-1" if "customer" in roles else None)
    session.add(user)
    session.flush()
    return user


def test_erasure_anonymizes_a_portal_user_and_parts_complete_the_request(session, admin_actor, ctx_of, events):
    user = _user(session)  # a portal customer: a data subject (staff are offboarded instead)
    answer = privacy.create(ctx_of(session, admin_actor), {"email": "ADA@example.com"}, "erasure")
    request = session.get(PrivacyRequest, answer["id"])
    erased = [d["id"] for t, d, _ in events if t == "identity.user_updated.v1"]  # identity's own part, done at once
    assert erased == [user.id] and user.email.endswith("@erased.invalid") and not user.is_active
    assert users.by_email(session, "ada@example.com") is None
    assert request.status == "pending" and request.parts["identity"]["status"] == "done"
    for service in ("sales", "service_desk", "marketing", "integration", "automation"):
        privacy.apply_part(session, {"request_id": request.id, "service": service, "status": "done", "counts": {}})
    assert request.status == "pending"
    privacy.apply_part(session, {"request_id": request.id, "service": "analytics", "status": "failed", "counts": {}})
    assert request.status == "failed" and request.completed_at is not None


def test_a_part_from_one_service_cannot_answer_for_another(session, admin_actor, ctx_of):
    answer = privacy.create(ctx_of(session, admin_actor), {"email": "x@example.com"}, "export")
    request = session.get(PrivacyRequest, answer["id"])
    request.parts = {**request.parts, "identity": {"status": "pending"}}  # as before identity's own part
    envelope = make_envelope("sales.privacy_part_completed.v1", {}, "sales", None, None)
    envelope["data"] = {"request_id": request.id, "service": "identity", "status": "done", "counts": {}}
    assert handlers.dispatch(ctx_of(session), envelope) is True
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


def test_a_request_made_before_a_service_took_part_completes_without_it(session, admin_actor, ctx_of):
    answer = privacy.create(ctx_of(session, admin_actor), {"email": "old@example.com"}, "export")
    request = session.get(PrivacyRequest, answer["id"])
    # as a request made when six services answered privacy requests (automation's part came later)
    request.parts = {s: p for s, p in request.parts.items() if s != "automation"}
    for service in ("sales", "service_desk", "marketing", "analytics"):
        privacy.apply_part(session, {"request_id": request.id, "service": service, "status": "done", "counts": {}})
    assert request.status == "pending"
    privacy.apply_part(session, {"request_id": request.id, "service": "integration", "status": "done", "counts": {}})
    assert request.status == "completed" and request.completed_at is not None
