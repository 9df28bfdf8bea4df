"""The actions that leave the service, for real, through the running automation service (`nameko run`, the real
broker, SQLite file or PostgreSQL): call_webhook POSTs to an HTTP receiver the test runs on loopback (allowed
the way the integration service's receivers are: CRM_WEBHOOK_ALLOW_HOSTS), send_email goes into the mail
catcher, and a schedule fires on the minute by the service's own timer."""
from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import update

from crm_common import mailcatcher
from crm_common.testing.waiting import eventually
from crm_automation.models import Workflow, WorkflowRun
from services.automation.tests.integration.harness import Automation

pytestmark = pytest.mark.integration


class Receiver:
    """An HTTP receiver on loopback: keeps every POST (path, JSON body); answers `status`."""

    def __init__(self):
        self.posts: list[tuple[str, dict]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.posts.append((self.path, json.loads(body)))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def of(self, path: str) -> list[dict]:
        return [body for at, body in self.posts if at == path]


@pytest.fixture(scope="module")
def receiver():
    found = Receiver()
    yield found
    found.server.shutdown()


@pytest.fixture(scope="module")
def mail(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mail")
    with mailcatcher.running(directory) as url:
        yield directory, url


@pytest.fixture(scope="module")
def automation(backend, tmp_path_factory, receiver, mail):
    service = Automation(backend, tmp_path_factory.mktemp(f"automation-{backend}"), env={
        "CRM_SMTP_URL": mail[1], "CRM_WEBHOOK_ALLOW_HOSTS": f"127.0.0.1:{receiver.port}", "CRM_WEBHOOK_DNS": "off"})
    try:
        yield service
    finally:
        service.close()


def runs(automation, workflow_id: str, until, timeout: float = 30) -> list:
    return eventually(lambda: automation.rows(WorkflowRun, WorkflowRun.workflow_id == workflow_id), timeout=timeout,
                      until=until)


def test_a_schedule_fires_on_its_minute_and_calls_the_webhook_and_sends_the_email(automation, receiver, mail):
    receiver.status = 200  # the receiver is the module's: the other backend's replay test left it at 204
    tag = uuid.uuid4().hex[:8]
    workflow = automation.call("create_workflow", {
        "name": f"Every minute {tag}", "trigger": {"type": "schedule", "cron": "* * * * *", "timezone": "Europe/Berlin"},
        "actions": [{"type": "call_webhook", "url": receiver.url(f"/scheduled/{tag}")},
                    {"type": "send_email", "to": f"ops-{tag}@example.com", "subject": "Scheduled run {{ run.id }}",
                     "body": "Fired for the {{ event.type }} of {{ event.occurred_at }}."}]})
    armed = automation.rows(Workflow, Workflow.id == workflow["id"])[0].next_fire_at
    assert armed.second == 0 and armed.microsecond == 0  # the next whole minute
    # its minute comes: the armed time moved one minute back, to the minute that began before it was made
    # (not a wait of up to a minute for the clock)
    with automation.engine.begin() as conn:
        moved = conn.execute(update(Workflow.__table__)
                             .where(Workflow.id == workflow["id"], Workflow.next_fire_at == armed)
                             .values(next_fire_at=armed - timedelta(minutes=1))).rowcount
    armed -= timedelta(minutes=moved)  # (0: the clock reached the armed minute first, and fired it)

    [run] = runs(automation, workflow["id"], lambda rows: any(r.status not in ("queued", "running") for r in rows),
                 timeout=90)
    assert run.status == "succeeded", (run.status, run.steps, run.error)
    assert run.trigger_type == "schedule" and run.trigger_event_id == f"schedule:{armed.isoformat()}"
    assert [(s["action"], s["status"]) for s in run.steps] == [("call_webhook", "succeeded"), ("send_email", "succeeded")]
    assert run.steps[0]["outcome"] == {"status": 200}

    [posted] = receiver.of(f"/scheduled/{tag}")
    assert posted["workflow_id"] == workflow["id"] and posted["run_id"] == run.id
    assert posted["event"]["type"] == "schedule"
    [message] = [m for m in mailcatcher.caught(mail[0]) if m["To"] == f"ops-{tag}@example.com"]
    assert message["Subject"] == f"Scheduled run {run.id}"
    assert f"Fired for the schedule of {armed.isoformat()}" in message.get_body().get_content()
    # fired once for that minute; the next one is armed a minute later
    later = automation.rows(Workflow, Workflow.id == workflow["id"])[0].next_fire_at
    assert later >= armed + timedelta(minutes=1)
    automation.call("delete_workflow", id=workflow["id"])


def test_a_webhook_that_fails_is_retried_parked_and_replayed_and_a_private_address_is_refused(automation, receiver):
    tag = uuid.uuid4().hex[:8]
    hooked = automation.call("create_workflow", {
        "name": f"Hook {tag}", "trigger": {"type": "event", "event": "sales.lead_created.v1"},
        "conditions": {"all": [{"field": "company", "op": "eq", "value": tag}]},
        "actions": [{"type": "call_webhook", "url": receiver.url(f"/leads/{tag}")}]})
    private = automation.call("create_workflow", {
        "name": f"Private {tag}", "trigger": {"type": "event", "event": "sales.lead_created.v1"},
        "conditions": {"all": [{"field": "company", "op": "eq", "value": tag}]},
        "actions": [{"type": "call_webhook", "url": "http://10.20.30.40:8080/internal"}]})
    receiver.status = 500
    lead = {"id": str(uuid.uuid4()), "company": tag, "last_name": "Hook", "owner_id": "rep-1"}
    automation.publish("sales.lead_created.v1", lead, entity="lead", action="create")

    [failed] = runs(automation, hooked["id"], lambda rows: rows and rows[0].status == "failed")
    assert failed.record_id == lead["id"] and failed.steps[0]["attempts"] == 3  # the first try and two retries
    assert failed.error == "the webhook answered 500" and len(receiver.of(f"/leads/{tag}")) == 3
    [refused] = runs(automation, private["id"], lambda rows: rows and rows[0].status == "failed")
    assert refused.error.startswith("the webhook URL is refused: the host resolves to a private address")
    assert "10.20.30.40" not in refused.error  # the URL stays out of the run log

    receiver.status = 204
    assert automation.call("replay_run", id=failed.id)["status"] == "queued"
    [replayed] = runs(automation, hooked["id"], lambda rows: rows and rows[0].status == "succeeded")
    assert replayed.id == failed.id and replayed.steps[0]["outcome"] == {"status": 204}
    bodies = receiver.of(f"/leads/{tag}")
    assert len(bodies) == 4 and bodies[-1]["record"]["company"] == tag and bodies[-1]["run_id"] == failed.id
    for workflow in (hooked, private):
        automation.call("delete_workflow", id=workflow["id"])
