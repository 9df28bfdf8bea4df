"""Signing in through the gateway: login, refresh rotation, reuse revokes the chain, logout, throttling, MFA."""
from __future__ import annotations

import time
import uuid

import pyotp
import pytest

pytestmark = pytest.mark.e2e

PASSWORD = "Str0ng-Passw0rd-42!"


def _login(suite, email, password, otp=None):
    body = {"email": email, "password": password}
    if otp:
        body["otp"] = otp
    return suite.post("/api/v1/auth/login", json=body)


def test_login_gives_a_token_pair_and_me_shows_the_caller(suite, admin):
    response = _login(suite, suite.admin_email, suite.admin_password)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "Bearer" and 0 < tokens["expires_in"] <= 900
    me = suite.clone(token=tokens["access_token"]).get("/api/v1/me")
    assert me.status_code == 200
    body = me.json()
    assert body["email"] == suite.admin_email and "admin" in body["roles"]
    assert body["perms"] == {"*": {"*": "all"}}
    assert "password" not in me.text and "hash" not in me.text


def test_wrong_password_and_unknown_email_get_the_same_401(suite, admin):
    user = admin.create_user(["sales_rep"])
    wrong = _login(suite, user["email"], "Not-The-Passw0rd-99")
    unknown = _login(suite, f"nobody-{uuid.uuid4().hex[:8]}@crm.test", "Not-The-Passw0rd-99")
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda r: {k: v for k, v in r.json().items() if k != "request_id"}  # noqa: E731
    assert strip(wrong) == strip(unknown)
    assert wrong.headers["Content-Type"] == unknown.headers["Content-Type"] == "application/problem+json"


def test_email_is_case_insensitive(suite, admin):
    user = admin.create_user(["sales_rep"])
    assert _login(suite, user["email"].upper(), PASSWORD).status_code == 200
    clash = admin.post("/api/v1/users", json={"email": user["email"].upper(), "full_name": "Clash",
                                               "password": PASSWORD, "roles": ["sales_rep"]})
    assert clash.status_code == 409


def test_refresh_rotates_and_a_reused_token_revokes_the_whole_chain(suite, admin):
    user = admin.create_user(["sales_rep"])
    first = _login(suite, user["email"], PASSWORD).json()
    second = suite.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert suite.clone(token=second["access_token"]).get("/api/v1/me").status_code == 200
    # the spent token again: refused, and the chain's newer token dies with it
    again = suite.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert again.status_code == 401
    after = suite.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401
    # another login (another chain) is untouched
    assert _login(suite, user["email"], PASSWORD).status_code == 200


def test_logout_revokes_the_refresh_chain(suite, admin):
    user = admin.create_user(["sales_rep"])
    tokens = _login(suite, user["email"], PASSWORD).json()
    client = suite.clone(token=tokens["access_token"])
    assert client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    assert suite.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401


def test_password_change_revokes_sessions_and_policy_applies(suite, admin):
    client = admin.as_new_user(["sales_rep"])
    weak = client.post("/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": "short"})
    assert weak.status_code == 422 and "new_password" in weak.json()["errors"]
    common = client.post("/api/v1/auth/password", json={"current_password": PASSWORD,
                                                        "new_password": "password1234"})
    assert common.status_code == 422
    new = "An0ther-Str0ng-Secret!"
    assert client.post("/api/v1/auth/password", json={"current_password": PASSWORD,
                                                      "new_password": new}).status_code == 204
    assert suite.post("/api/v1/auth/refresh", json={"refresh_token": client.refresh_token}).status_code == 401
    assert _login(suite, client.user["email"], PASSWORD).status_code == 401
    assert _login(suite, client.user["email"], new).status_code == 200


def test_repeated_failures_lock_the_account_with_retry_after(suite, admin):
    user = admin.create_user(["sales_rep"])
    statuses = [_login(suite, user["email"], "Wrong-Passw0rd-123").status_code for _ in range(5)]
    assert statuses == [401] * 5
    held = _login(suite, user["email"], PASSWORD)  # even the right password waits now
    assert held.status_code == 429
    assert int(held.headers["Retry-After"]) > 0
    assert held.headers["Content-Type"] == "application/problem+json"
    # other accounts from the same address still sign in
    assert _login(suite, suite.admin_email, suite.admin_password).status_code == 200


def test_mfa_enroll_verify_then_login_needs_the_code(suite, admin):
    client = admin.as_new_user(["sales_rep"])
    enrolled = client.post("/api/v1/auth/mfa/enroll")
    assert enrolled.status_code == 200, enrolled.text
    secret = enrolled.json()["secret"]
    assert enrolled.json()["otpauth_uri"].startswith("otpauth://totp/")
    totp = pyotp.TOTP(secret)
    bad = client.post("/api/v1/auth/mfa/verify", json={"otp": "000000" if totp.now() != "000000" else "111111"})
    assert bad.status_code == 422
    assert client.post("/api/v1/auth/mfa/verify", json={"otp": totp.now()}).status_code == 200
    assert client.get("/api/v1/me").json()["mfa_enabled"] is True
    email = client.user["email"]
    without = _login(suite, email, PASSWORD)
    assert without.status_code == 401 and without.json().get("mfa") == "required"
    code = totp.at(time.time() + 30)  # the next step: the current one was spent by verify
    assert _login(suite, email, PASSWORD, otp=code).status_code == 200
    assert _login(suite, email, PASSWORD, otp=code).status_code == 401  # a code works once


def _enrolled(admin):
    client = admin.as_new_user(["sales_rep"])
    totp = pyotp.TOTP(client.post("/api/v1/auth/mfa/enroll").json()["secret"])
    assert client.post("/api/v1/auth/mfa/verify", json={"otp": totp.now()}).status_code == 200
    return client, totp


def test_the_user_turns_mfa_off_with_password_and_a_fresh_code(suite, admin):
    client, totp = _enrolled(admin)
    code = totp.at(time.time() + 30)
    wrong = client.post("/api/v1/auth/mfa/disable", json={"password": "Not-The-Passw0rd-99", "otp": code})
    assert wrong.status_code == 422 and "password" in wrong.json()["errors"]
    assert "Not-The-Passw0rd-99" not in wrong.text
    assert client.post("/api/v1/auth/mfa/disable", json={"otp": code}).status_code == 422
    off = client.post("/api/v1/auth/mfa/disable", json={"password": PASSWORD, "otp": code})
    assert off.status_code == 200 and off.json() == {"mfa_enabled": False}
    assert client.get("/api/v1/me").json()["mfa_enabled"] is False
    assert _login(suite, client.user["email"], PASSWORD).status_code == 200  # no code asked any more
    again = client.post("/api/v1/auth/mfa/disable", json={"password": PASSWORD, "otp": totp.at(time.time() + 60)})
    assert again.status_code == 409


def test_an_admin_resets_a_lost_authenticator_and_ends_the_users_sessions(suite, admin):
    client, totp = _enrolled(admin)
    user_id, email = client.user["id"], client.user["email"]
    signed_in = suite.clone(token=_login(suite, email, PASSWORD, otp=totp.at(time.time() + 30)).json()["access_token"])
    assert signed_in.get("/api/v1/me").status_code == 200
    other = admin.as_new_user(["sales_manager"])
    assert other.delete(f"/api/v1/users/{user_id}/mfa").status_code == 403  # not an administrator
    assert admin.delete("/api/v1/users/00000000-0000-4000-8000-000000000000/mfa").status_code == 404
    time.sleep(1.1)  # revocation works at one-second resolution (tokens issued before it are refused)
    assert admin.delete(f"/api/v1/users/{user_id}/mfa").status_code == 204
    assert signed_in.get("/api/v1/me").status_code == 401  # whoever holds the device holds no session
    assert admin.get(f"/api/v1/users/{user_id}").json()["mfa_enabled"] is False
    assert _login(suite, email, PASSWORD).status_code == 200  # password alone, then enroll again
    assert admin.delete(f"/api/v1/users/{user_id}/mfa").status_code == 204  # nothing left: still 204
