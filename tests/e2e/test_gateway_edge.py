"""The gateway's edge through gunicorn: rate limits shared in Redis, the client behind a proxy, /docs.

The suite's own gateway runs with limits out of the tests' way (conftest.py); the rate-limit tests
start a second gateway (gunicorn, two worker processes) beside it on the same services, with low
limits, one trusted proxy hop and its counters in the real Redis under a prefix of its own.
"""
from __future__ import annotations

import os
import re
import subprocess
import time
import uuid

import pytest
import redis
import requests

from crm_common.ports import free_port

pytestmark = pytest.mark.e2e

REDIS_URL = os.environ.get("CRM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="module")
def limited_gateway(suite, tmp_path_factory):
    """(base URL, Redis prefix) of a second gateway: 2 workers, 5 requests a minute per route."""
    prefix = f"crm-e2e-{uuid.uuid4().hex[:12]}"
    port = free_port()
    env = {**suite.suite.env, "CRM_PORT": str(port), "CRM_BIND": "127.0.0.1", "CRM_GATEWAY_WORKERS": "2",
           "CRM_GATEWAY_THREADS": "4", "REDIS_URL": REDIS_URL, "CRM_RATE_LIMIT_PREFIX": prefix,
           "CRM_RATE_LIMIT": "5/minute", "CRM_RATE_LIMIT_ANONYMOUS": "5/minute", "CRM_TRUSTED_PROXIES": "1"}
    log = open(tmp_path_factory.mktemp("edge") / "gateway.log", "wb")
    proc = subprocess.Popen(suite.suite.commands()["gateway"], env=env, cwd=suite.suite.root, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                if requests.get(base + "/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or its workers still starting
                pass
            assert proc.poll() is None and time.time() < deadline, "the second gateway did not start"
            time.sleep(0.3)
        yield base, prefix
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(30)
        log.close()
        store = redis.Redis.from_url(REDIS_URL)
        keys = list(store.scan_iter(match=f"*{prefix}*"))
        if keys:
            store.delete(*keys)
        store.close()


def test_two_worker_processes_share_one_budget_per_forwarded_client(limited_gateway):
    base, prefix = limited_gateway
    session = requests.Session()
    client_a = {"X-Forwarded-For": "203.0.113.10"}
    statuses = []
    for _ in range(6):  # a new connection each time: both worker processes take their share
        statuses.append(requests.get(base + "/api/v1/me", headers=client_a).status_code)
    assert statuses == [401] * 5 + [429]
    refused = requests.get(base + "/api/v1/me", headers=client_a)
    assert refused.status_code == 429 and refused.headers["Content-Type"] == "application/problem+json"
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    # another client behind the same proxy has a budget of its own
    assert session.get(base + "/api/v1/me", headers={"X-Forwarded-For": "203.0.113.11"}).status_code == 401
    assert list(redis.Redis.from_url(REDIS_URL).scan_iter(match=f"*{prefix}*addr:203.0.113.10*"))


def test_a_signed_in_caller_is_counted_by_who_it_is(limited_gateway, admin):
    base, _prefix = limited_gateway
    headers = {"Authorization": f"Bearer {admin.token}"}
    statuses = [requests.get(base + "/api/v1/me", headers={**headers, "X-Forwarded-For": f"198.51.100.{n}"}).status_code
                for n in range(6)]
    assert statuses == [200] * 5 + [429]  # a new address each time changes nothing for a caller


def test_the_suites_own_gateway_does_not_get_in_the_tests_way(suite):
    assert {suite.get("/healthz").status_code for _ in range(20)} == {200}


def test_docs_are_served_by_the_gateway_itself_under_a_strict_csp(suite):
    page = suite.get("/docs")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe" not in csp
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls)
    assert "<script>" not in page.text  # every script is a file
    for url in urls:
        assert suite.get(url).status_code == 200, url
