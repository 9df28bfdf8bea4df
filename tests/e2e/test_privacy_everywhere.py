"""One privacy request, answered by every service: the request completes with each part done."""
from __future__ import annotations

import time
import uuid

import pytest

pytestmark = pytest.mark.e2e

SERVICES = {"identity", "sales", "service_desk", "marketing", "analytics", "integration"}


def wait_completed(admin, request_id, timeout=30.0):
    deadline = time.time() + timeout
    body = None
    while time.time() < deadline:
        body = admin.get(f"/api/v1/privacy/requests/{request_id}").json()
        if body["status"] != "pending":
            return body
        time.sleep(0.5)
    return body


@pytest.mark.parametrize("kind", ["export", "erasure"])
def test_a_privacy_request_completes_once_every_service_answered(admin, kind):
    # a data subject with an account: a portal customer (a staff email is offboarded, not erased by request)
    user = admin.create_user(["customer"], contact_id=str(uuid.uuid4()))
    response = admin.post(f"/api/v1/privacy/{kind}-requests", json={"email": user["email"]})
    assert response.status_code == 202, response.text
    body = wait_completed(admin, response.json()["id"])
    assert body["status"] == "completed", body
    assert set(body["parts"]) == SERVICES
    assert {part["status"] for part in body["parts"].values()} == {"done"}


def test_after_an_erasure_a_retried_key_never_hands_the_persons_data_back(admin):
    """A create kept with its Idempotency-Key (by the gateway and by the service) names the person; once they
    are erased, a retry of that key runs afresh instead of replaying the erased lead."""
    email = f"erase-kept-{uuid.uuid4().hex[:8]}@example.com"
    body, key = {"first_name": "Kept", "last_name": "Answer", "email": email}, str(uuid.uuid4())
    first = admin.post("/api/v1/leads", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    replay = admin.post("/api/v1/leads", json=body, headers={"Idempotency-Key": key})
    assert replay.status_code == 201 and replay.json()["id"] == first.json()["id"]  # kept, before the erasure
    response = admin.post("/api/v1/privacy/erasure-requests", json={"email": email})
    assert response.status_code == 202, response.text
    assert wait_completed(admin, response.json()["id"])["status"] == "completed"
    assert admin.get(f"/api/v1/leads/{first.json()['id']}").json()["email"] != email  # erased in sales
    retry = admin.post("/api/v1/leads", json=body, headers={"Idempotency-Key": key})
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] != first.json()["id"]  # made again from what the client sent, not replayed
