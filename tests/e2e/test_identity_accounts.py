"""Accounts and administrators through the gateway: nobody locks the company out, staff are offboarded
(not erased by a privacy request), a delegated administrator stays in their lane, and a locked-out
administrator is recovered from the host."""
from __future__ import annotations

import re
import threading
import uuid

import pytest
import requests

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e

PASSWORD = "Str0ng-Passw0rd-42!"
NEW_PASSWORD = "N3w-Str0ng-Passw0rd!"


def _login(suite, email, password):
    return suite.post("/api/v1/auth/login", json={"email": email, "password": password})


def test_an_erasure_request_for_the_administrators_own_email_is_refused(admin, suite):
    me = admin.get("/api/v1/me").json()
    response = admin.post("/api/v1/privacy/erasure-requests", json={"email": me["email"]})
    assert response.status_code == 409, response.text
    problem = response.json()
    assert response.headers["Content-Type"] == "application/problem+json"
    assert problem["staff_user"] == {"id": me["id"], "email": me["email"], "roles": me["roles"], "is_active": True}
    assert f"/api/v1/users/{me['id']}/offboard" in problem["detail"]
    assert admin.get("/api/v1/me").status_code == 200  # the token still works
    assert _login(suite, suite.admin_email, suite.admin_password).status_code == 200
    rep = admin.create_user(["sales_rep"])
    assert admin.post("/api/v1/privacy/erasure-requests", json={"email": rep["email"]}).status_code == 409
    assert _login(suite, rep["email"], PASSWORD).status_code == 200


def test_offboarding_a_staff_member_is_confirmed_with_their_email(admin, suite):
    rep = admin.as_new_user(["sales_rep"])
    url = f"/api/v1/users/{rep.user['id']}/offboard"
    wrong = admin.post(url, json={"confirm_email": "someone-else@crm.test"})
    assert wrong.status_code == 422 and "confirm_email" in wrong.json()["errors"]
    assert rep.get("/api/v1/me").status_code == 200  # nothing happened
    assert rep.post(url, json={"confirm_email": rep.user["email"]}).status_code == 403  # not an administrator
    done = admin.post(url, json={"confirm_email": rep.user["email"].upper()})
    assert done.status_code == 202, done.text
    assert done.headers["Location"] == f"/api/v1/privacy/requests/{done.json()['id']}"
    assert (done.json()["kind"], done.json()["email"]) == ("erasure", rep.user["email"])
    account = admin.get(f"/api/v1/users/{rep.user['id']}").json()
    assert account["is_active"] is False and account["email"].endswith("@erased.invalid")
    assert _login(suite, rep.user["email"], PASSWORD).status_code == 401
    assert eventually(lambda: rep.get("/api/v1/me").status_code == 401, 10)
    completed = eventually(lambda: admin.get(done.headers["Location"]).json()["status"] == "completed", 30)
    assert completed


def test_an_administrator_cannot_lock_themself_out_by_any_route(admin, suite):
    me = admin.user["id"]
    attempts = {
        "deactivate": admin.delete(f"/api/v1/users/{me}"),
        "deactivate_by_patch": admin.patch(f"/api/v1/users/{me}", json={"is_active": False}),
        "demote": admin.patch(f"/api/v1/users/{me}", json={"roles": ["sales_rep"]}),
        "reset_own_mfa": admin.delete(f"/api/v1/users/{me}/mfa"),
        "offboard": admin.post(f"/api/v1/users/{me}/offboard", json={"confirm_email": admin.user["email"]}),
        "erase": admin.post("/api/v1/privacy/erasure-requests", json={"email": admin.user["email"]}),
    }
    assert {name: r.status_code for name, r in attempts.items()} == {
        "deactivate": 409, "deactivate_by_patch": 422, "demote": 422, "reset_own_mfa": 409, "offboard": 409,
        "erase": 409}
    me_now = admin.get("/api/v1/me").json()
    assert me_now["is_active"] is True and "admin" in me_now["roles"]
    assert _login(suite, suite.admin_email, suite.admin_password).status_code == 200


def test_a_delegated_user_administrator_stays_in_their_lane(admin, suite):
    suffix = uuid.uuid4().hex[:8]
    role = admin.post("/api/v1/roles", json={"name": f"team_user_admin_{suffix}", "permissions": {
        "user": {"read": "team", "update": "team", "delete": "team", "admin": "team"}}})
    assert role.status_code == 201, role.text
    team = admin.post("/api/v1/teams", json={"name": f"Delegated {suffix}"}).json()
    strong = admin.create_user(["admin"], team_id=team["id"])  # a real administrator in the same team
    rep = admin.create_user(["sales_rep"], team_id=team["id"])
    deleg = admin.as_new_user(["sales_rep", role.json()["name"]], team_id=team["id"])
    on_strong = {
        "update": deleg.patch(f"/api/v1/users/{strong['id']}", json={"full_name": "Taken"}),
        "set_password": deleg.patch(f"/api/v1/users/{strong['id']}", json={"password": NEW_PASSWORD}),
        "set_roles": deleg.patch(f"/api/v1/users/{strong['id']}", json={"roles": ["sales_rep"]}),
        "reset_mfa": deleg.delete(f"/api/v1/users/{strong['id']}/mfa"),
        "deactivate": deleg.delete(f"/api/v1/users/{strong['id']}"),
    }
    on_rep = {
        "set_password": deleg.patch(f"/api/v1/users/{rep['id']}", json={"password": NEW_PASSWORD}),
        "reset_mfa": deleg.delete(f"/api/v1/users/{rep['id']}/mfa"),
        "deactivate": deleg.delete(f"/api/v1/users/{rep['id']}"),
    }
    assert {name: r.status_code for name, r in on_strong.items()} == {
        "update": 403, "set_password": 403, "set_roles": 403, "reset_mfa": 403, "deactivate": 403}
    assert {name: r.status_code for name, r in on_rep.items()} == {"set_password": 200, "reset_mfa": 204,
                                                                   "deactivate": 204}
    assert "grants beyond your own" in on_strong["set_password"].json()["detail"]
    strong_client = admin.login(strong["email"], PASSWORD)  # the stronger account is untouched
    assert strong_client.user["roles"] == ["admin"] and strong_client.user["full_name"] != "Taken"
    assert admin.delete(f"/api/v1/users/{strong['id']}").status_code == 204  # another administrator may


def test_a_locked_out_administrator_is_recovered_from_the_host(admin, suite):
    second = admin.create_user(["admin"])
    assert admin.delete(f"/api/v1/users/{second['id']}").status_code == 204  # deactivated
    assert [_login(suite, second["email"], "Wrong-Passw0rd-123").status_code for _ in range(5)] == [401] * 5
    assert _login(suite, second["email"], PASSWORD).status_code == 429  # held, and inactive anyway
    run = suite.suite.python("-m", "crm_identity.recover_admin", "--email", second["email"], "--reset-mfa",
                             check=False)
    assert run.returncode == 0, run.stderr
    password = re.search(r"password: (\S+) \(shown once\)", run.stdout).group(1)
    recovered = admin.login(second["email"], password)
    assert recovered.user["is_active"] is True and "admin" in recovered.user["roles"]
    assert _login(suite, second["email"], PASSWORD).status_code == 401  # the old password is gone

    def audited():
        items = admin.get("/api/v1/audit", params={"entity_id": second["id"], "action": "update"}).json()["items"]
        return [e for e in items if (e["request_id"] or "").startswith("recover-admin:")]
    [entry] = eventually(audited, 20)
    assert entry["actor_kind"] == "system" and set(entry["changed_fields"]) >= {"password", "is_active"}
    assert recovered.delete(f"/api/v1/users/{second['id']}").status_code == 409  # and not themself


def test_parallel_wrong_passwords_get_no_more_than_the_limit_through(admin, suite):
    """Ten wrong passwords for one account at the same moment: five are checked (401), the rest held (429)."""
    user = admin.create_user(["sales_rep"])
    start = threading.Barrier(10)
    codes: list[int] = []

    def attempt():
        start.wait()
        codes.append(requests.post(suite.base_url + "/api/v1/auth/login", timeout=30,
                                   json={"email": user["email"], "password": "Wrong-Passw0rd-123"}).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(codes) == [401] * 5 + [429] * 5
    assert _login(suite, user["email"], PASSWORD).status_code == 429
