"""Revocation reaches live sessions: an access token stops working soon after its user is
deactivated or changes password, not only when it expires 15 minutes later."""
from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.e2e


def eventually_status(client, path, status, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        code = client.get(path).status_code
        if code == status:
            return code
        time.sleep(0.5)
    return client.get(path).status_code


def test_deactivation_locks_out_a_live_session(admin):
    user = admin.create_user(["sales_rep"])
    session = admin.login(user["email"], user["password"])
    assert session.get("/api/v1/me").status_code == 200
    assert admin.delete(f"/api/v1/users/{user['id']}").status_code == 204
    assert eventually_status(session, "/api/v1/me", 401) == 401


def test_password_change_voids_the_other_sessions(admin):
    user = admin.create_user(["sales_rep"])
    first = admin.login(user["email"], user["password"])
    time.sleep(1.1)  # tokens carry whole seconds: the change happens in a later second
    response = first.post("/api/v1/auth/password", json={"current_password": user["password"],
                                                         "new_password": "An0ther-Str0ng-Passw0rd!"})
    assert response.status_code in (200, 204), response.text
    assert eventually_status(first, "/api/v1/me", 401) == 401
    time.sleep(1.1)
    fresh = admin.login(user["email"], "An0ther-Str0ng-Passw0rd!")
    assert fresh.get("/api/v1/me").status_code == 200
