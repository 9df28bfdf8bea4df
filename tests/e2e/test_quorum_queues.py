"""CRM_QUEUE_TYPE=quorum (RabbitMQ clusters): every durable queue of the suite's events is a quorum queue,
nameko's RPC queues stay classic (nameko declares them itself), and events flow through them end to end:
a lead created through the gateway reaches identity's audit trail. SQLite only."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from crm_common.suite import Suite
from crm_common.testing.client import ApiClient
from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e


def queue_types(vhost: str) -> dict[str, str]:
    out = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "type", "--formatter", "json"],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    return {q["name"]: q["type"] for q in json.loads(out)}


def test_event_queues_are_quorum_queues_and_events_flow_through_them(fresh_suite_env):
    env = {**fresh_suite_env, "CRM_QUEUE_TYPE": "quorum"}
    suite = Suite(env=env, quiet=True, log_dir=Path(env["CRM_VAR_DIR"]) / "logs")
    try:
        suite.bootstrap()
        suite.start()
        suite.wait_ready(90)
        types = queue_types(env["AMQP_URI"].rsplit("/", 1)[1])
        events = {name: kind for name, kind in types.items() if name.startswith("crm.")}  # queues and retries
        assert set(events.values()) == {"quorum"}, events
        assert {f"crm.{name}.events" for name in ("identity", "sales", "service_desk", "marketing", "analytics")} \
            <= set(events), sorted(events)
        others = {name: kind for name, kind in types.items() if name not in events}
        assert {kind for name, kind in others.items() if name.startswith("rpc")} == {"classic"}, others

        admin = ApiClient(f"http://127.0.0.1:{suite.port}").login(env["CRM_ADMIN_EMAIL"], env["CRM_ADMIN_PASSWORD"])
        lead = admin.post("/api/v1/leads", json={"last_name": "Quorum", "company": "Raft Ltd",
                                                  "email": "q.raft@example.com"})
        assert lead.status_code == 201, lead.text
        audited = eventually(lambda: admin.get("/api/v1/audit", params={"entity_id": lead.json()["id"]}).json(),
                             until=lambda page: "create" in {entry["action"] for entry in page.get("items", [])},
                             timeout=30)
        assert "create" in {entry["action"] for entry in audited["items"]}
    finally:
        suite.stop()
        suite.remove_broker_users()
