"""Two gateways, one suite (issue 18, item 3): the gateway keeps no state of its own in memory that a client
would notice. With its database on PostgreSQL and its rate limits in Redis (REDIS_URL), two gateway
processes on two ports answer alike: an idempotent repeat sent to the other gateway returns the first
answer and creates nothing, a rate limit counts the calls made through both, and a session ended through
one is ended for the other."""
from __future__ import annotations

import os
import uuid

import pytest
import redis

from crm_common.testing.waiting import eventually
from tests.e2e.scale_out import admin_of, pg_suite

pytestmark = [pytest.mark.e2e,
              pytest.mark.postgresql]
REDIS_URL = os.environ.get("CRM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LIMIT = 12  # calls per minute per caller and route


@pytest.fixture(scope="module")
def two_gateways(tmp_path_factory):
    from conftest import suite_env
    from crm_common.testing.harness import Vhost
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    vhost = Vhost().create()
    prefix = f"crm-test-{uuid.uuid4().hex[:8]}"  # this run's own counters in the shared Redis
    env = {**suite_env(vhost, tmp_path_factory.mktemp("two-gateways") / "var"), "REDIS_URL": REDIS_URL,
           "CRM_RATE_LIMIT_PREFIX": prefix, "CRM_RATE_LIMIT": f"{LIMIT}/minute"}
    try:
        with pg_suite(env, supervised=False) as (suite, _pg):
            second = suite.add_replica("gateway")
            port = int(suite.replica_setting(second, "CRM_PORT"))
            assert eventually(lambda: _ready(port), timeout=60, interval=0.5), "the second gateway did not start"
            yield suite, port
    finally:
        vhost.delete()
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)


def _ready(port: int) -> bool:
    import requests
    try:
        return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 200
    except requests.RequestException:
        return False


def test_an_idempotent_repeat_on_the_other_gateway_returns_the_first_answer(two_gateways):
    suite, port = two_gateways
    first_gateway = admin_of(suite)
    other_gateway = first_gateway.clone(token=first_gateway.token)
    other_gateway.base_url = f"http://127.0.0.1:{port}"
    key = f"twice-{uuid.uuid4().hex}"
    body = {"last_name": "Twice", "company": "Two Gateways Ltd", "email": f"twice.{uuid.uuid4().hex[:8]}@example.com"}

    first = first_gateway.post("/api/v1/leads", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    repeat = other_gateway.post("/api/v1/leads", json=body, headers={"Idempotency-Key": key})
    assert repeat.status_code == 201
    assert repeat.json() == first.json()
    assert repeat.headers.get("Idempotent-Replayed") == "true"
    listed = first_gateway.get("/api/v1/leads", params={"email": body["email"]}).json()["items"]
    assert [lead["id"] for lead in listed] == [first.json()["id"]]

    changed = other_gateway.post("/api/v1/leads", json={**body, "last_name": "Other"}, headers={"Idempotency-Key": key})
    assert changed.status_code == 422  # the key's first request was another one, whichever gateway saw it


def test_a_rate_limit_counts_the_calls_made_through_both_gateways(two_gateways):
    suite, port = two_gateways
    caller = admin_of(suite).as_new_user(["sales_rep"])
    other = caller.clone(token=caller.token)
    other.base_url = f"http://127.0.0.1:{port}"
    answers = []
    for n in range(LIMIT):
        answers.append((caller if n % 2 else other).get("/api/v1/accounts").status_code)
    assert answers == [200] * LIMIT  # half through each: within the limit together
    over = [caller.get("/api/v1/accounts"), other.get("/api/v1/accounts")]
    assert [response.status_code for response in over] == [429, 429]
    assert all(int(response.headers["Retry-After"]) > 0 for response in over)


def test_a_session_ended_through_one_gateway_is_ended_for_the_other(two_gateways):
    suite, port = two_gateways
    user = admin_of(suite).as_new_user(["sales_rep"])
    other = user.clone(token=user.token)
    other.base_url = f"http://127.0.0.1:{port}"
    assert other.get("/api/v1/me").status_code == 200
    assert user.post("/api/v1/auth/logout", json={"refresh_token": user.refresh_token}).status_code in (200, 204)
    assert eventually(lambda: other.get("/api/v1/me").status_code, timeout=15,
                      until=lambda status: status == 401) == 401
    refreshed = other.http.post(f"{other.base_url}/api/v1/auth/refresh", json={"refresh_token": user.refresh_token},
                                timeout=30)
    assert refreshed.status_code == 401
