"""Sessions and API keys at the gateway, through the Flask app with identity's answers stood in:
the exact cutoff, ended sessions, membership now, own-account routes, the API key cache."""
from __future__ import annotations

import time
import uuid

import jwt
import pytest
from flask import g

from crm_common import migrate
from crm_common.context import Actor
from crm_gateway import auth
from crm_gateway.app import create_app
from crm_gateway import conventions
from crm_gateway.conventions import Blueprint
from crm_gateway.permission_matrix import routes
from crm_gateway.settings import JWT_AUDIENCE, JWT_ISSUER, Settings

USER = "11111111-1111-4111-8111-111111111111"


class Identity:
    """Stands in for identity's token_cutoff: `states[user_id]`, and how often it was asked."""

    def __init__(self):
        self.states: dict[str, dict] = {}
        self.asked = 0

    def __call__(self, user_id):
        self.asked += 1
        return self.states.get(user_id, {"active": True, "valid_after": None, "valid_after_us": None,
                                         "ended_sessions": []})


@pytest.fixture
def identity():
    return Identity()


@pytest.fixture
def app(settings_of, tmp_path, identity, monkeypatch):
    db = tmp_path / "gateway.db"
    migrate.upgrade("gateway", f"sqlite:///{db}")
    application = create_app(settings_of(database_url=f"sqlite:///{db}"))  # a database of the test's own
    blp = Blueprint("whoami", __name__, url_prefix="/api/v1/whoami")

    @blp.route("", methods=["GET"])
    @auth.requires("lead", "read")
    def whoami():
        return {"team_id": g.actor.team_id, "territory_ids": list(g.actor.territory_ids)}

    application.extensions["crm_api"].register_blueprint(blp)
    application.extensions["crm_cutoffs"] = auth.CutoffCache(ttl=60)
    monkeypatch.setattr(auth, "_cutoff", lambda user_id: application.extensions["crm_cutoffs"].get(user_id, identity))
    return application


def bearer(keypair, **overrides):
    now = int(time.time())
    claims = {"iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "sub": USER, "iat": now, "iat_us": now * 1_000_000 + 1,
              "exp": now + 600, "jti": str(uuid.uuid4()), "typ": "access", "roles": ["sales_manager"],
              "team_id": "team-old", "territory_ids": ["terr-old"], "sid": "session-1",
              "perms": {"lead": {"read": "team"}}}
    claims.update(overrides)
    token = jwt.encode({k: v for k, v in claims.items() if v is not None}, keypair[0], algorithm="EdDSA")
    return {"Authorization": f"Bearer {token}"}


def test_a_token_of_the_same_second_is_refused_before_the_cutoff_and_admitted_after(app, keypair, identity):
    now = int(time.time())
    identity.states[USER] = {"active": True, "valid_after": now + 1, "valid_after_us": now * 1_000_000 + 500_000,
                             "ended_sessions": []}
    client = app.test_client()
    before = client.get("/api/v1/whoami", headers=bearer(keypair, iat=now, iat_us=now * 1_000_000 + 400_000))
    same = client.get("/api/v1/whoami", headers=bearer(keypair, iat=now, iat_us=now * 1_000_000 + 500_000))
    after = client.get("/api/v1/whoami", headers=bearer(keypair, iat=now, iat_us=now * 1_000_000 + 600_000))
    legacy = client.get("/api/v1/whoami", headers=bearer(keypair, iat=now, iat_us=None))  # no iat_us: its second
    assert (before.status_code, same.status_code, after.status_code, legacy.status_code) == (401, 401, 200, 401)


def test_the_cutoff_rule_written_out():
    facts = auth.TokenFacts
    state = {"active": True, "valid_after_us": 2_000_000, "ended_sessions": ["ended"]}
    assert auth.admits(state, facts(2_000_001, "live")) is True
    assert auth.admits(state, facts(2_000_000, "live")) is False
    assert auth.admits(state, facts(1_999_999, None)) is False
    assert auth.admits(state, facts(3_000_000, "ended")) is False
    assert auth.admits({**state, "active": False}, facts(3_000_000, "live")) is False
    # an identity that answers in whole seconds only: the token's second must not be before it
    assert auth.admits({"active": True, "valid_after": 2}, facts(2_000_000, None)) is True
    assert auth.admits({"active": True, "valid_after": 2}, facts(1_999_999, None)) is False


def test_a_token_of_an_ended_session_is_refused_and_the_other_sessions_work(app, keypair, identity):
    identity.states[USER] = {"active": True, "valid_after": None, "valid_after_us": None,
                             "ended_sessions": ["session-1"]}
    client = app.test_client()
    assert client.get("/api/v1/whoami", headers=bearer(keypair, sid="session-1")).status_code == 401
    assert client.get("/api/v1/whoami", headers=bearer(keypair, sid="session-2")).status_code == 200


def test_team_and_territories_come_from_the_cutoff_not_the_token(app, keypair, identity):
    identity.states[USER] = {"active": True, "valid_after": None, "valid_after_us": None, "ended_sessions": [],
                             "team_id": "team-new", "territory_ids": ["terr-old", "terr-new"]}
    response = app.test_client().get("/api/v1/whoami", headers=bearer(keypair))
    assert response.status_code == 200
    assert response.get_json() == {"team_id": "team-new", "territory_ids": ["terr-old", "terr-new"]}


def test_logout_sends_the_tokens_session_and_this_worker_asks_identity_again_at_once(app, keypair, identity,
                                                                                     monkeypatch):
    calls = []

    def fake_call(service, method, data=None, **kw):
        calls.append((service, method, data, kw))
        identity.states[USER] = {"active": True, "valid_after": None, "valid_after_us": None,
                                 "ended_sessions": ["session-1"]}

    monkeypatch.setattr(conventions, "call", fake_call)
    client = app.test_client()
    headers = bearer(keypair, sid="session-1")
    assert client.get("/api/v1/whoami", headers=headers).status_code == 200
    response = client.post("/api/v1/auth/logout", json={"refresh_token": "r-1"}, headers=headers)
    assert response.status_code == 204, response.data
    assert calls == [("identity", "logout", {"refresh_token": "r-1"}, {"session_id": "session-1"})]
    assert client.get("/api/v1/whoami", headers=headers).status_code == 401  # not after the cache's 60 s


OWN_ACCOUNT_ROUTES = {
    ("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/auth/password"), ("POST", "/api/v1/auth/mfa/enroll"),
    ("POST", "/api/v1/auth/mfa/verify"), ("POST", "/api/v1/auth/mfa/disable"), ("PATCH", "/api/v1/me"),
}


def test_the_routes_acting_on_the_callers_own_account(app):
    marked = {(r.method, r.rule) for r in routes(app) if r.permission == auth.OWN_ACCOUNT}
    assert marked == OWN_ACCOUNT_ROUTES
    assert {(r.method, r.rule) for r in routes(app) if r.permission == auth.SELF_SERVICE} == {
        ("GET", "/api/v1/me"),
        # the caller's own notifications (the automation service keeps each caller to their own)
        ("GET", "/api/v1/notifications"), ("POST", "/api/v1/notifications/read-all"),
        ("POST", "/api/v1/notifications/<id:record_id>/read"), ("GET", "/api/v1/notification-preferences"),
        ("PUT", "/api/v1/notification-preferences"),
        # approvals: the service shows each to its requester and approvers, and lets only a step's approvers decide
        ("GET", "/api/v1/approvals"), ("GET", "/api/v1/approvals/<id:record_id>"),
        ("POST", "/api/v1/approvals/<id:record_id>/approve"), ("POST", "/api/v1/approvals/<id:record_id>/reject"),
        ("PUT", "/api/v1/approval-delegation"),
        # bulk exports: the integration service refuses a list the caller may not read, shows each to its owner
        ("POST", "/api/v1/exports"), ("GET", "/api/v1/exports/<id:record_id>"),
        ("GET", "/api/v1/exports/<id:record_id>/download")}


@pytest.mark.parametrize("method,path", sorted(OWN_ACCOUNT_ROUTES))
def test_an_api_key_gets_403_on_its_owners_account_and_nothing_is_called(app, monkeypatch, method, path):
    key = Actor(user_id=USER, kind="api_key", roles=("integration",), perms={"lead": {"read": "all"}})
    monkeypatch.setattr(auth, "_api_key_actor", lambda secret: key)
    called = []
    monkeypatch.setattr(conventions, "call", lambda *a, **kw: called.append(a))
    response = app.test_client().open(path, method=method, json={"otp": "123456", "password": "x"},
                                      headers={"X-API-Key": "crm_" + "k" * 43})
    assert response.status_code == 403, response.data
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "API key may not act on its owner's account" in response.get_json()["detail"]
    assert called == []


def test_a_person_reaches_the_own_account_routes(app, keypair, monkeypatch):
    monkeypatch.setattr(conventions, "call", lambda *a, **kw: {"secret": "S", "otpauth_uri": "otpauth://x"})
    response = app.test_client().post("/api/v1/auth/mfa/enroll", headers=bearer(keypair))
    assert response.status_code == 200, response.data


def test_the_api_key_cache_is_short_and_drops_a_revoked_key(monkeypatch):
    monkeypatch.delenv("CRM_API_KEY_CACHE", raising=False)
    assert Settings().api_key_cache_seconds == 5.0
    monkeypatch.setenv("CRM_API_KEY_CACHE", "2")
    assert Settings().api_key_cache_seconds == 2.0
    cache = auth.ApiKeyCache(60)
    actor = Actor(user_id=USER, kind="api_key")
    cache.put("digest-1", actor, "key-1")
    cache.put("digest-2", actor, "key-2")
    cache.forget_key("key-1")
    assert cache.get("digest-1") is None and cache.get("digest-2") is actor
