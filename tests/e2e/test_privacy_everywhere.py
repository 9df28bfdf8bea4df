"""One privacy request, answered by every service: the request completes with each part done; the copies of a
person's data the services keep of others' events (analytics' event log, automation's snapshots and runs) are
erased too."""
from __future__ import annotations

import json
import time
import uuid

import pytest

pytestmark = pytest.mark.e2e

SERVICES = {"identity", "sales", "service_desk", "marketing", "analytics", "integration", "automation"}


def wait_completed(admin, request_id, timeout=30.0):
    deadline = time.time() + timeout
    body = None
    while time.time() < deadline:
        body = admin.get(f"/api/v1/privacy/requests/{request_id}").json()
        if body["status"] != "pending":
            return body
        time.sleep(0.5)
    return body


@pytest.mark.parametrize("kind", ["export", "erasure"])
def test_a_privacy_request_completes_once_every_service_answered(admin, kind):
    # a data subject with an account: a portal customer (a staff email is offboarded, not erased by request)
    user = admin.create_user(["customer"], contact_id=str(uuid.uuid4()))
    response = admin.post(f"/api/v1/privacy/{kind}-requests", json={"email": user["email"]})
    assert response.status_code == 202, response.text
    body = wait_completed(admin, response.json()["id"])
    assert body["status"] == "completed", body
    assert set(body["parts"]) == SERVICES
    assert {part["status"] for part in body["parts"].values()} == {"done"}


def test_after_an_erasure_a_retried_key_never_hands_the_persons_data_back(admin):
    """A create kept with its Idempotency-Key (by the service) names the person; once they
    are erased, a retry of that key runs afresh instead of replaying the erased lead."""
    email = f"erase-kept-{uuid.uuid4().hex[:8]}@example.com"
    body, key = {"first_name": "Kept", "last_name": "Answer", "email": email}, str(uuid.uuid4())
    first = admin.post("/api/v1/leads", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    replay = admin.post("/api/v1/leads", json=body, headers={"Idempotency-Key": key})
    assert replay.status_code == 201 and replay.json()["id"] == first.json()["id"]  # kept, before the erasure
    response = admin.post("/api/v1/privacy/erasure-requests", json={"email": email})
    assert response.status_code == 202, response.text
    assert wait_completed(admin, response.json()["id"])["status"] == "completed"
    assert admin.get(f"/api/v1/leads/{first.json()['id']}").json()["email"] != email  # erased in sales
    retry = admin.post("/api/v1/leads", json=body, headers={"Idempotency-Key": key})
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] != first.json()["id"]  # made again from what the client sent, not replayed


def test_an_erasure_cuts_the_person_out_of_the_automation_copies_and_keeps_the_run_log(suite, admin):
    """Automation keeps the lead it saw (the snapshot "changed from" compares with, each run's context, the
    compared values of a run that did not fire, a notification quoting the name): after an erasure none of its
    tables names the person, and the run log still lists the runs with their outcome."""
    from pathlib import Path

    from sqlalchemy import text

    from crm_common.db import make_engine
    from crm_common.testing.waiting import eventually
    from crm_automation.models import Base

    tag = uuid.uuid4().hex[:8]
    email, last_name = f"auto-erase-{tag}@example.com", f"Erasable{tag}"
    made = []
    for body in ({"name": f"erase {tag}", "trigger": {"type": "field_change", "resource": "lead", "field": "status",
                                                      "to": "qualified"},
                  "conditions": {"all": [{"field": "email", "op": "contains", "value": "@example.com"}]},
                  "actions": [{"type": "notify", "to_owner": True,
                               "title": "{{ record.first_name }} {{ record.last_name }} is qualified"}]},
                 {"name": f"skip {tag}", "trigger": {"type": "event", "event": "sales.lead_created.v1"},
                  "conditions": {"all": [{"field": "email", "op": "contains", "value": "@never.example"}]},
                  "actions": [{"type": "notify", "to_owner": True, "title": "never"}]}):
        response = admin.post("/api/v1/workflows", json=body)
        assert response.status_code == 201, response.text
        made.append(response.json())
    env = suite.suite.env
    engine = make_engine(env.get("AUTOMATION_DATABASE_URL") or f"sqlite:///{Path(env['CRM_VAR_DIR']) / 'automation.db'}")

    def rows_text() -> str:
        with engine.connect() as conn:
            return "\n".join(str(tuple(row)) for table in Base.metadata.sorted_tables
                             for row in conn.execute(text(f"SELECT * FROM {table.name}"))).lower()

    def runs(workflow):
        return admin.get(f"/api/v1/workflows/{workflow['id']}/runs").json()["items"]

    try:
        lead = admin.post("/api/v1/leads", json={"first_name": "Augusta", "last_name": last_name,
                                                 "email": email}).json()
        assert admin.patch(f"/api/v1/leads/{lead['id']}", json={"status": "qualified"}).status_code == 200
        eventually(lambda: runs(made[0]), timeout=30, until=lambda items: any(
            r["record_id"] == lead["id"] and r["status"] == "succeeded" for r in items))
        eventually(lambda: runs(made[1]), timeout=30, until=lambda items: any(r["record_id"] == lead["id"]
                                                                              for r in items))
        assert email in rows_text() and last_name.lower() in rows_text()
        response = admin.post("/api/v1/privacy/erasure-requests", json={"email": email})
        assert response.status_code == 202, response.text
        assert wait_completed(admin, response.json()["id"])["status"] == "completed"
        kept = eventually(rows_text, timeout=30, until=lambda found: email not in found)
        assert last_name.lower() not in kept, [line for line in kept.splitlines() if last_name.lower() in line]
        [qualified] = [r for r in runs(made[0]) if r["record_id"] == lead["id"]]
        assert qualified["status"] == "succeeded"
        [skipped] = [r for r in runs(made[1]) if r["record_id"] == lead["id"]]
        assert skipped["status"] == "skipped" and "[erased]" in skipped["log"][0] and email not in skipped["log"][0]
    finally:
        for workflow in made:
            admin.delete(f"/api/v1/workflows/{workflow['id']}")
        engine.dispose()


def ask(admin, kind, email):
    response = admin.post(f"/api/v1/privacy/{kind}-requests", json={"email": email})
    assert response.status_code == 202, response.text
    body = wait_completed(admin, response.json()["id"])
    assert body["status"] == "completed", body
    return body["parts"]


def test_an_erasure_cuts_the_person_out_of_the_analytics_event_log(admin):
    """Analytics logs every event (the address kept as its hash, a title, tags): an export finds the lead's
    events there, an erasure cuts them, and a later export finds nothing of the person."""
    email = f"erase-log-{uuid.uuid4().hex[:8]}@example.com"
    lead = admin.post("/api/v1/leads", json={"first_name": "Logged", "last_name": "Person", "email": email,
                                             "title": "Chief Logger", "source": "web_form"})
    assert lead.status_code == 201, lead.text
    lead_id = lead.json()["id"]
    deadline, found = time.time() + 30, {}
    while time.time() < deadline:  # the lead's event reaches the analytics log on its own queue
        found = ask(admin, "export", email)["analytics"]
        if found["counts"].get("events"):
            break
        time.sleep(0.5)
    assert found["counts"]["events"] >= 1 and found["counts"]["records"] == 1, found
    assert {event["entity_id"] for event in found["data"]["events"]} == {lead_id}
    assert "Chief Logger" in json.dumps(found["data"])  # what the log kept of them
    before = web_form_leads(admin)
    erased = ask(admin, "erasure", email)["analytics"]
    assert erased["status"] == "done" and erased["counts"]["events"] >= 1, erased
    again = ask(admin, "export", email)["analytics"]
    assert again["counts"] == {"events": 0, "records": 0} and again["data"] == {"events": []}, again
    assert web_form_leads(admin) == before  # the lead is still counted where it was


def web_form_leads(admin) -> int:
    funnel = admin.get("/api/v1/analytics/funnel", params={"group_by": "source"})
    assert funnel.status_code == 200, funnel.text
    return next((item["leads"] for item in funnel.json()["items"] if item["key"] == "web_form"), 0)
