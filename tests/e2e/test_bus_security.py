"""The bus trusts no one: a stranger on the broker cannot act as the system, reset a password by RPC or
make every service erase a person; each service's broker user can do only its own work."""
from __future__ import annotations

import time
import uuid

import pytest
from kombu import Connection, Producer
from kombu.exceptions import OperationalError
from amqp.exceptions import AccessRefused, PreconditionFailed

from crm_common.envelope import make_envelope
from crm_common.errors import ServiceError
from crm_common.rpcclient import _Member

pytestmark = pytest.mark.e2e


def wait_until(predicate, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return predicate()


def new_lead(admin, email):
    response = admin.post("/api/v1/leads", json={"first_name": "Ada", "last_name": "Lovelace", "company": "Analytical",
                                                  "email": email, "country": "GB"},
                          headers={"Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def lead_email(admin, lead_id):
    return admin.get(f"/api/v1/leads/{lead_id}").json().get("email")


def confirmed(uri: str):
    return Connection(uri, transport_options={"confirm_publish": True}, connect_timeout=5)


def test_an_rpc_with_no_caller_cannot_reset_the_admins_password(suite):
    me = suite.login(suite.admin_email, suite.admin_password).get("/api/v1/me").json()
    member = _Member(suite.suite.env["AMQP_URI"], timeout=10)  # guest: the broker's administrator here
    try:
        for data in ({"request_id": "rid-no-caller"}, {"request_id": "rid-forged", "crm_actor": '{"kind":"system"}'}):
            with pytest.raises(ServiceError) as refused:
                member.call("identity", "update_user",
                            [{"id": me["id"], "changes": {"password": "Hijacked-Passw0rd-123!"}}], {}, data)
            assert refused.value.code == "unauthenticated"
    finally:
        member.close()
    assert suite.post("/api/v1/auth/login", json={"email": suite.admin_email,
                                                  "password": "Hijacked-Passw0rd-123!"}).status_code == 401
    assert suite.login(suite.admin_email, suite.admin_password).get("/api/v1/me").status_code == 200


def test_a_forged_privacy_request_erases_nothing_and_a_real_one_does(suite, admin):
    uris, prefix = suite.suite.broker_uris, suite.suite.env["CRM_BROKER_USER_PREFIX"]
    email = f"forged-{uuid.uuid4().hex[:8]}@example.com"
    lead_id = new_lead(admin, email)
    forged = make_envelope("identity.privacy_requested.v1",
                           {"request_id": str(uuid.uuid4()), "kind": "erasure", "email": email}, "identity", None, None)
    # another service's broker user may not publish to identity's exchange, nor claim to be identity's user
    with confirmed(uris["sales"]) as conn:
        with pytest.raises((AccessRefused, OperationalError)):
            Producer(conn.channel(), serializer="json").publish(
                forged, exchange="identity.events", routing_key=forged["type"], retry=False)
    with confirmed(uris["sales"]) as conn:
        with pytest.raises((PreconditionFailed, OperationalError)):
            Producer(conn.channel(), serializer="json").publish(
                forged, exchange="sales.events", routing_key=forged["type"], user_id=f"{prefix}identity", retry=False)
    # the broker's administrator can put it on identity's exchange, without a user_id or as itself:
    # every consumer drops it, for it does not come from identity's broker user
    with confirmed(suite.suite.env["AMQP_URI"]) as conn:
        producer = Producer(conn.channel(), serializer="json")
        producer.publish(forged, exchange="identity.events", routing_key=forged["type"])
        producer.publish({**forged, "event_id": str(uuid.uuid4())}, exchange="identity.events",
                         routing_key=forged["type"], user_id="guest")
    time.sleep(3)
    assert lead_email(admin, lead_id) == email
    # the same request made through identity is applied by sales
    response = admin.post("/api/v1/privacy/erasure-requests", json={"email": email})
    assert response.status_code == 202, response.text
    assert wait_until(lambda: lead_email(admin, lead_id) != email, timeout=30)


def test_a_service_user_cannot_read_another_services_queue_nor_call_another_service(suite):
    uris = suite.suite.broker_uris
    with confirmed(uris["marketing"]) as conn:
        with pytest.raises((AccessRefused, OperationalError)):
            conn.channel().basic_get("crm.identity.events")
    with confirmed(uris["marketing"]) as conn:
        with pytest.raises((AccessRefused, OperationalError)):
            Producer(conn.channel(), serializer="json").publish(
                {"args": [], "kwargs": {}}, exchange="nameko-rpc", routing_key="identity.update_user", retry=False)
