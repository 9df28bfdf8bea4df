"""Prometheus metrics on every part (issue 18): the gateway at /metrics and each service on its own port
answer, and their counters move with the work: a lead created through the gateway is counted as a request
by the gateway, an RPC and a published event by sales, and a consumed event by identity's audit trail."""
from __future__ import annotations

import re
import uuid

import pytest
import requests

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e
SERVICES = ("identity", "sales", "service_desk", "marketing", "analytics")


def scrape(url: str) -> str:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, response.text
    return response.text


def sample(text: str, name: str, **labels) -> float:
    """The value of the series `name` whose labels include `labels` (0 when there is none yet)."""
    total = 0.0
    for line in text.splitlines():
        match = re.match(r"^%s\{([^}]*)\} (\S+)$" % re.escape(name), line)
        if match and all(f'{key}="{value}"' in match.group(1).split(",") for key, value in labels.items()):
            total += float(match.group(2))
    return total


def test_every_part_serves_metrics_whose_counters_follow_a_created_lead(suite, admin):
    ports = suite.suite.metrics_ports
    service = {name: f"http://127.0.0.1:{ports[name]}/metrics" for name in SERVICES}
    gateway = f"{suite.base_url}/metrics"
    for name in SERVICES:
        text = scrape(service[name])
        assert f'crm_outbox_backlog{{service="{name}"}}' in text
        assert "crm_db_connections_in_use" in text
    before = {"gateway": scrape(gateway), "sales": scrape(service["sales"]), "identity": scrape(service["identity"])}

    lead = admin.post("/api/v1/leads", json={"last_name": "Counted", "company": "Metrics Ltd",
                                              "email": f"counted.{uuid.uuid4().hex[:8]}@example.com"})
    assert lead.status_code == 201, lead.text

    def grew(part, url, name, **labels):
        return eventually(lambda: sample(scrape(url), name, **labels), timeout=20,
                          until=lambda now: now >= sample(before[part], name, **labels) + 1) \
            - sample(before[part], name, **labels)

    assert grew("gateway", gateway, "crm_http_requests_total", route="/api/v1/leads", method="POST", status="201") >= 1
    assert grew("sales", service["sales"], "crm_rpc_requests_total", method="create_lead", outcome="ok") == 1
    assert grew("sales", service["sales"], "crm_events_published_total", type="sales.lead_created.v1") >= 1
    assert grew("identity", service["identity"], "crm_events_consumed_total", type="sales.lead_created.v1",
                outcome="applied") >= 1
    assert "counted." not in scrape(gateway) and lead.json()["id"] not in scrape(gateway)


def test_a_periodic_task_says_when_it_last_ran_to_its_end(suite):
    """The alert "SLA monitor late" reads this gauge; sales' reminder scan runs every second in the tests."""
    url = f"http://127.0.0.1:{suite.suite.metrics_ports['sales']}/metrics"
    first = eventually(lambda: sample(scrape(url), "crm_timer_last_success_timestamp_seconds", timer="reminders"),
                       timeout=20)
    assert first > 0
    later = eventually(lambda: sample(scrape(url), "crm_timer_last_success_timestamp_seconds", timer="reminders"),
                       timeout=20, until=lambda now: now > first)
    assert later > first
    assert sample(scrape(url), "crm_timer_runs_total", timer="reminders", outcome="ok") >= 2
