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
