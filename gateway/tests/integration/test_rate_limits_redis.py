"""Rate limits kept in Redis (the real one at 127.0.0.1:6379): two gateways share one budget.

Each gateway app has a limiter and a Redis connection of its own, as two gateway processes do. The
counters go under a key prefix of this test run's own, removed afterwards.
"""
from __future__ import annotations

import os
import uuid

import pytest
import redis

from crm_common import migrate
from crm_gateway.app import create_app
from crm_gateway.settings import Settings

pytestmark = pytest.mark.integration

REDIS_URL = os.environ.get("CRM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LOGIN = {"email": "ada@example.com", "password": "a long enough password"}


class Identity:
    def call(self, service, method, *args, **kwargs):
        return {"access_token": "a", "refresh_token": "r", "token_type": "Bearer", "expires_in": 900}


@pytest.fixture
def prefix():
    prefix = f"crm-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    store = redis.Redis.from_url(REDIS_URL)
    keys = list(store.scan_iter(match=f"*{prefix}*"))
    if keys:
        store.delete(*keys)
    assert not list(store.scan_iter(match=f"*{prefix}*"))
    store.close()


def gateway(tmp_path, name: str, redis_url: str | None, prefix: str):
    url = f"sqlite:///{tmp_path / (name + '.db')}"
    migrate.upgrade("gateway", url)
    app = create_app(Settings(amqp_uri="amqp://guest:guest@127.0.0.1:1/", database_url=url, redis_url=redis_url,
                              rate_limit_prefix=prefix, rate_limit_anonymous="4/minute"))
    app.extensions["crm_rpc"] = Identity()
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.0.0.5"
    return client


def logins(first, second, count: int) -> list[int]:
    return [(first if n % 2 == 0 else second).post("/api/v1/auth/login", json=LOGIN).status_code
            for n in range(count)]


def test_two_gateways_on_redis_share_one_budget(tmp_path, prefix):
    first, second = gateway(tmp_path, "a", REDIS_URL, prefix), gateway(tmp_path, "b", REDIS_URL, prefix)
    statuses = logins(first, second, 6)
    assert statuses == [200, 200, 200, 200, 429, 429]
    assert list(redis.Redis.from_url(REDIS_URL).scan_iter(match=f"*{prefix}*"))  # the counter is in Redis


def test_without_redis_each_gateway_counts_alone(tmp_path, prefix):
    first, second = gateway(tmp_path, "a", None, prefix), gateway(tmp_path, "b", None, prefix)
    assert logins(first, second, 8) == [200] * 8
    assert logins(first, second, 2) == [429, 429]


def test_redis_away_falls_back_to_each_gateways_memory(tmp_path, prefix):
    client = gateway(tmp_path, "a", "redis://127.0.0.1:1/0", prefix)  # nothing listens there
    statuses = [client.post("/api/v1/auth/login", json=LOGIN).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
