"""The audit trail (who did what, from which request) and privacy requests (erasure, export)."""
from __future__ import annotations

import uuid

import pytest

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e

PASSWORD = "Str0ng-Passw0rd-42!"




def _audit(admin, **params):
    response = admin.get("/api/v1/audit", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_changes_land_in_the_audit_trail_with_actor_fields_and_request_id(admin):
    request_id = f"req-{uuid.uuid4().hex}"
    created = admin.post("/api/v1/users", json={"email": f"a-{uuid.uuid4().hex[:8]}@crm.test", "full_name": "Audited",
                                                "password": PASSWORD, "roles": ["sales_rep"]},
                         headers={"X-Request-ID": request_id})
    assert created.status_code == 201
    user = created.json()
    admin.patch(f"/api/v1/users/{user['id']}", json={"full_name": "Audited Twice", "password": "N3w-Secret-Passw0rd"})
    entries = eventually(lambda: _audit(admin, entity_type="user", entity_id=user["id"]),
                         until=lambda items: {"create", "update"} <= {e["action"] for e in items})
    by_action = {e["action"]: e for e in entries}
    assert by_action["create"]["actor_id"] == admin.user["id"]
    assert by_action["create"]["request_id"] == request_id
    assert by_action["create"]["client_ip"] == "127.0.0.1"
    assert sorted(by_action["update"]["changed_fields"]) == ["full_name", "password"]
    assert "N3w-Secret-Passw0rd" not in str(entries)
    assert by_action["create"]["occurred_at"].endswith("Z")


def test_logins_succeeded_and_failed_are_audited(admin, suite):
    user = admin.create_user(["sales_rep"])
    assert suite.post("/api/v1/auth/login", json={"email": user["email"], "password": "Wrong-Passw0rd-1"}
                      ).status_code == 401
    assert suite.post("/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}).status_code == 200
    entries = eventually(lambda: _audit(admin, entity_id=user["id"]),
                         until=lambda items: {"login", "login_failed"} <= {e["action"] for e in items})
    assert {"login", "login_failed"} <= {e["action"] for e in entries}
    assert _audit(admin, actor_id=user["id"], action="login")


def test_audit_filters_and_access(admin):
    assert admin.get("/api/v1/audit", params={"from": "not-a-date"}).status_code == 422
    assert admin.get("/api/v1/audit", params={"password": "x"}).status_code == 422
    future = _audit(admin, **{"from": "2999-01-01T00:00:00Z"})
    assert future == []
    rep = admin.as_new_user(["sales_rep"])
    assert rep.get("/api/v1/audit").status_code == 403


def test_erasure_request_anonymizes_the_user_and_shows_parts(admin, suite):
    client = admin.as_new_user(["customer"], contact_id=str(uuid.uuid4()))  # a portal user: a data subject
    email = client.user["email"]
    response = admin.post("/api/v1/privacy/erasure-requests", json={"email": email.upper()})
    assert response.status_code == 202, response.text
    request = response.json()
    assert request["kind"] == "erasure" and request["email"] == email
    assert request["parts"]["identity"]["status"] == "done"
    assert set(request["parts"]) == {"identity", "sales", "service_desk", "marketing", "analytics", "integration",
                                      "automation"}
    assert request["status"] in ("pending", "completed")
    erased = admin.get(f"/api/v1/users/{client.user['id']}").json()
    assert erased["email"] != email and erased["full_name"] != client.user["full_name"]
    assert erased["is_active"] is False
    assert suite.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).status_code == 401
    assert suite.post("/api/v1/auth/refresh", json={"refresh_token": client.refresh_token}).status_code == 401
    fetched = admin.get(f"/api/v1/privacy/requests/{request['id']}")
    assert fetched.status_code == 200 and fetched.json()["id"] == request["id"]
    listed = admin.get("/api/v1/privacy/requests", params={"kind": "erasure"}).json()["items"]
    assert request["id"] in [r["id"] for r in listed]


def test_export_request_returns_identity_data(admin):
    user = admin.create_user(["sales_rep"])
    response = admin.post("/api/v1/privacy/export-requests", json={"email": user["email"]})
    assert response.status_code == 202
    part = response.json()["parts"]["identity"]
    assert part["status"] == "done"
    exported = part["data"]["users"][0]
    assert exported["email"] == user["email"] and exported["id"] == user["id"]
    assert "password" not in str(part)


def test_privacy_requests_are_for_admins(admin):
    rep = admin.as_new_user(["sales_rep"])
    assert rep.post("/api/v1/privacy/erasure-requests", json={"email": admin.user["email"]}).status_code == 403
    assert admin.get(f"/api/v1/users/{admin.user['id']}").json()["is_active"] is True
    assert admin.post("/api/v1/privacy/export-requests", json={"email": "nope"}).status_code == 422
    assert admin.get(f"/api/v1/privacy/requests/{uuid.uuid4()}").status_code == 404
