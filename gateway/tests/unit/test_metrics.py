"""The gateway's /metrics: requests counted by route rule (never the path a client sent), method and status;
answered to loopback and private addresses only."""
from __future__ import annotations

import re

import pytest

from crm_gateway.app import create_app


@pytest.fixture
def client():
    return create_app().test_client()


def value(text: str, route: str, method: str, status: str) -> float:
    pattern = (r'crm_http_requests_total\{method="%s",route="%s",status="%s"\} ([0-9.e+]+)'
               % (method, re.escape(route), status))
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


def test_requests_are_counted_by_route_rule_method_and_status(client):
    before = client.get("/metrics").get_data(as_text=True)
    assert client.get("/healthz").status_code == 200
    missing = client.get("/api/v1/leads/6f1c2b9e-52a4-4c51-9e0b-3d1f2a7c8b11")  # no token: 401
    assert missing.status_code == 401
    after = client.get("/metrics").get_data(as_text=True)
    assert value(after, "/healthz", "GET", "200") == value(before, "/healthz", "GET", "200") + 1
    rule = "/api/v1/leads/<id:record_id>"
    assert value(after, rule, "GET", "401") == value(before, rule, "GET", "401") + 1
    assert "6f1c2b9e" not in after
    assert "crm_http_request_duration_seconds_bucket" in after


def test_metrics_are_not_served_to_a_public_address(client):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "93.184.216.34"}).status_code == 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
