"""The gateway's edge in-process: the client address behind proxies, and the rate limits.

Identity is replaced by a recorder (no broker): what matters here is what the gateway passes on and
what it answers before anything reaches a service.
"""
from __future__ import annotations

import time
import uuid

import jwt
import pytest

from crm_common.errors import ServiceError
from crm_gateway.app import create_app
from crm_gateway.settings import JWT_AUDIENCE, JWT_ISSUER

LOGIN = {"email": "ada@example.com", "password": "a long enough password"}


class Identity:
    """Stands in for the RPC pool: records every call and answers like identity would."""

    def __init__(self):
        self.calls = []

    def call(self, service, method, *args, **kwargs):
        self.calls.append((service, method, args, kwargs))
        if method == "login":
            return {"access_token": "a", "refresh_token": "r", "token_type": "Bearer", "expires_in": 900}
        if method == "token_cutoff":
            return {"active": True, "valid_after": None}
        if method == "authenticate_api_key":
            raise ServiceError("unauthenticated", "missing or invalid credentials")
        if method == "get_me":
            return {"id": kwargs["actor"].user_id, "email": "ada@example.com"}
        return {"status": "ok"}

    def last(self, method):
        return [c for c in self.calls if c[1] == method][-1]


@pytest.fixture
def make_app(settings_of):
    def make(**overrides):
        app = create_app(settings_of(redis_url=None, **overrides))
        app.extensions["crm_rpc"] = app.extensions["crm_rpc_probe"] = Identity()
        return app
    return make


def bearer(keypair, user_id: str | None = None) -> dict:
    now = int(time.time())
    claims = {"iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "sub": user_id or str(uuid.uuid4()), "iat": now,
              "exp": now + 600, "jti": str(uuid.uuid4()), "typ": "access", "roles": ["sales_rep"], "perms": {}}
    return {"Authorization": f"Bearer {jwt.encode(claims, keypair[0], algorithm='EdDSA')}"}


def client_from(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def assert_rate_limited(response):
    assert response.status_code == 429, response.data
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.get_json()["type"] == "urn:crm:problem:rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 61


# -- the client address (issue 10) -------------------------------------------------------------------

def test_without_a_trusted_proxy_x_forwarded_for_changes_nothing(make_app, keypair):
    app = make_app()
    client = client_from(app, "10.0.0.5")
    assert client.post("/api/v1/auth/login", json=LOGIN, headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 200
    assert app.extensions["crm_rpc"].last("login")[3]["client_ip"] == "10.0.0.5"
    assert client.get("/api/v1/me", headers={**bearer(keypair), "X-Forwarded-For": "203.0.113.9"}).status_code == 200
    assert app.extensions["crm_rpc"].last("get_me")[3]["actor"].client_ip == "10.0.0.5"


def test_behind_a_trusted_proxy_the_client_is_the_address_it_forwarded(make_app, keypair):
    app = make_app(trusted_proxies=1)
    proxy = client_from(app, "10.0.0.5")
    # the client claimed 198.51.100.7 itself; the proxy appended the address it saw
    forwarded = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}
    assert proxy.post("/api/v1/auth/login", json=LOGIN, headers=forwarded).status_code == 200
    assert app.extensions["crm_rpc"].last("login")[3]["client_ip"] == "203.0.113.9"
    assert proxy.get("/api/v1/me", headers={**bearer(keypair), **forwarded}).status_code == 200
    assert app.extensions["crm_rpc"].last("get_me")[3]["actor"].client_ip == "203.0.113.9"


def test_clients_behind_one_trusted_proxy_have_budgets_of_their_own(make_app):
    app = make_app(trusted_proxies=1, rate_limit_anonymous="2/minute")
    proxy = client_from(app, "10.0.0.5")
    for _ in range(2):
        assert proxy.post("/api/v1/auth/login", json=LOGIN, headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 200
    assert_rate_limited(proxy.post("/api/v1/auth/login", json=LOGIN, headers={"X-Forwarded-For": "203.0.113.9"}))
    assert proxy.post("/api/v1/auth/login", json=LOGIN, headers={"X-Forwarded-For": "203.0.113.10"}).status_code == 200


def test_without_a_trusted_proxy_a_forged_x_forwarded_for_does_not_buy_a_new_budget(make_app):
    app = make_app(rate_limit_anonymous="2/minute")
    client = client_from(app, "10.0.0.5")
    for n in range(2):
        assert client.post("/api/v1/auth/login", json=LOGIN, headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code == 200
    assert_rate_limited(client.post("/api/v1/auth/login", json=LOGIN, headers={"X-Forwarded-For": "203.0.113.99"}))


# -- rate limits (issue 11) ------------------------------------------------------------------------------

def test_anonymous_requests_are_limited_per_address_and_per_route(make_app):
    app = make_app(rate_limit_anonymous="3/minute")
    first, second = client_from(app, "10.0.0.5"), client_from(app, "10.0.0.6")
    for _ in range(3):
        assert first.post("/api/v1/auth/login", json=LOGIN).status_code == 200
    calls = len(app.extensions["crm_rpc"].calls)
    assert_rate_limited(first.post("/api/v1/auth/login", json=LOGIN))
    assert len(app.extensions["crm_rpc"].calls) == calls  # refused before identity was asked
    assert second.post("/api/v1/auth/login", json=LOGIN).status_code == 200  # another address
    assert first.get("/openapi.json").status_code == 200  # another route


def test_a_caller_is_limited_per_route_whatever_address_it_comes_from(make_app, keypair):
    app = make_app(rate_limit="3/minute")
    user, other = str(uuid.uuid4()), str(uuid.uuid4())
    for address in ("10.0.0.5", "10.0.0.6", "10.0.0.7"):
        assert client_from(app, address).get("/api/v1/me", headers=bearer(keypair, user)).status_code == 200
    assert_rate_limited(client_from(app, "10.0.0.8").get("/api/v1/me", headers=bearer(keypair, user)))
    assert client_from(app, "10.0.0.8").get("/api/v1/me", headers=bearer(keypair, other)).status_code == 200


def test_failed_authentication_counts_against_the_address(make_app):
    app = make_app(rate_limit_anonymous="3/minute")
    client = client_from(app, "10.0.0.5")
    for _ in range(3):
        assert client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert_rate_limited(client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"}))
    assert_rate_limited(client.get("/api/v1/me", headers={"X-API-Key": "crm_guess"}))
    # an API key guessed past the limit is refused before identity is asked to look it up
    assert not [c for c in app.extensions["crm_rpc"].calls if c[1] == "authenticate_api_key"]
    other = client_from(app, "10.0.0.6")
    for _ in range(3):
        assert other.get("/api/v1/me", headers={"X-API-Key": "crm_guess"}).status_code == 401
    assert_rate_limited(other.get("/api/v1/me", headers={"X-API-Key": "crm_guess"}))
    assert len([c for c in app.extensions["crm_rpc"].calls if c[1] == "authenticate_api_key"]) == 3


def test_unknown_urls_are_limited_too(make_app):
    app = make_app(rate_limit_anonymous="2/minute")
    client = client_from(app, "10.0.0.5")
    assert [client.get(f"/nothing/{n}").status_code for n in range(3)] == [404, 404, 429]


def test_readyz_has_a_stricter_limit_of_its_own_and_healthz_none(make_app):
    app = make_app(rate_limit_anonymous="100/minute", rate_limit_readyz="2/minute")
    client = client_from(app, "10.0.0.5")
    assert [client.get("/readyz").status_code for _ in range(2)] == [200, 200]
    assert_rate_limited(client.get("/readyz"))
    app = make_app(rate_limit_anonymous="1/minute")
    client = client_from(app, "10.0.0.5")
    assert {client.get("/healthz").status_code for _ in range(5)} == {200}


def test_every_operation_documents_the_429_with_retry_after(make_app):
    spec = make_app().test_client().get("/openapi.json").get_json()
    operations = [op for path in spec["paths"].values() for method, op in path.items()
                  if method in ("get", "post", "put", "patch", "delete")]
    assert operations and all("429" in op["responses"] for op in operations)
    assert "Retry-After" in spec["components"]["responses"]["RATE_LIMITED"]["headers"]


def test_a_limit_that_is_not_a_rate_is_refused_at_start(make_app):
    with pytest.raises(ValueError, match="CRM_RATE_LIMIT_ANONYMOUS"):
        make_app(rate_limit_anonymous="lots")


def test_the_memory_counters_start_no_timer_threads():
    import threading

    from limits import parse
    from limits.strategies import FixedWindowRateLimiter

    from crm_gateway.ratelimit import Counters

    limiter, item = FixedWindowRateLimiter(Counters()), parse("3/minute")
    threads = threading.active_count()
    assert [limiter.hit(item, "caller", "route") for _ in range(4)] == [True, True, True, False]
    assert threading.active_count() <= threads


class Keys(Identity):
    """Identity that knows two API keys of one owner: one with a limit of its own, one without."""

    KEYS = {"crm_" + "s" * 43: ("key-slow", "2/minute"), "crm_" + "f" * 43: ("key-fast", None)}

    def call(self, service, method, *args, **kwargs):
        if method == "authenticate_api_key" and kwargs.get("secret") in self.KEYS:
            self.calls.append((service, method, args, {}))
            key_id, limit = self.KEYS[kwargs["secret"]]
            return {"user_id": "owner-1", "kind": "api_key", "roles": ["integration"], "perms": {},
                    "api_key_id": key_id, "rate_limit": limit}
        return super().call(service, method, *args, **kwargs)


def test_an_api_key_with_a_limit_of_its_own_is_held_to_it_another_to_the_default(make_app):
    app = make_app(rate_limit="4/minute")
    app.extensions["crm_rpc"] = app.extensions["crm_rpc_probe"] = Keys()
    slow, fast = ({"X-API-Key": secret} for secret in Keys.KEYS)
    for address in ("10.0.0.5", "10.0.0.6"):  # counted per key, wherever it calls from
        assert client_from(app, address).get("/api/v1/me", headers=slow).status_code == 200
    assert_rate_limited(client_from(app, "10.0.0.7").get("/api/v1/me", headers=slow))
    # the other key of the same owner has a budget of its own, the gateway's default
    for _ in range(4):
        assert client_from(app, "10.0.0.5").get("/api/v1/me", headers=fast).status_code == 200
    assert_rate_limited(client_from(app, "10.0.0.5").get("/api/v1/me", headers=fast))
    # identity was asked once per key (the limit is cached with the key's actor)
    assert len([c for c in app.extensions["crm_rpc"].calls if c[1] == "authenticate_api_key"]) == 2
