"""The integration surface as an ERP's developer meets it: the ordered event feed with a cursor that resumes,
the event catalogue and /asyncapi.json, and webhooks to a receiver this test starts on loopback (signed as
Standard Webhooks has it, verified here with the `standardwebhooks` package; down for a while, then up: every
delivery arrives, in order per record, none twice). No request leaves this machine."""
from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook as Verifier

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e


class Receiver:
    """An HTTP receiver on 127.0.0.1: records every request it answers 2xx; `status` is what it answers."""

    def __init__(self):
        self.status = 200
        self.got: list[tuple[dict, bytes]] = []
        self.refused = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.status
                if status < 300:
                    receiver.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                else:
                    receiver.refused += 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, type_prefix="sales.lead_"):
        return [json.loads(body) for _, body in self.got if json.loads(body)["type"].startswith(type_prefix)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def lead(admin, **fields):
    tag = uuid.uuid4().hex[:8]
    created = admin.post("/api/v1/leads", json={"first_name": "Ada", "last_name": f"Hook-{tag}",
                                                 "company": f"Engines {tag}", "email": f"ada-{tag}@engines.example",
                                                 **fields})
    assert created.status_code == 201, created.text
    return created.json()


def test_a_receiver_gets_every_subscribed_event_signed_and_after_an_outage_everything_in_order(admin, receiver):
    made = admin.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["sales.lead_*"]})
    assert made.status_code == 201, made.text
    hook = made.json()
    assert hook["secret"].startswith("whsec_") and hook["active"] is True
    assert "secret" not in admin.get(f"/api/v1/webhooks/{hook['id']}").json()  # shown once
    verifier = Verifier(hook["secret"])

    first = lead(admin)
    eventually(lambda: receiver.events("sales.lead_created"), timeout=20)
    headers, body = next((h, b) for h, b in receiver.got if json.loads(b)["type"] == "sales.lead_created.v1")
    verifier.verify(body, headers)  # webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256>
    event = json.loads(body)
    assert event["data"]["id"] == first["id"] and event["event_id"] and event["timestamp"].endswith("Z")

    receiver.status = 503  # down for a while: every attempt fails
    leads = [lead(admin) for _ in range(3)]
    for n in range(3):
        changed = admin.patch(f"/api/v1/leads/{leads[0]['id']}", json={"title": f"step {n}"})
        assert changed.status_code == 200, changed.text
    eventually(lambda: receiver.refused >= 3, timeout=20)
    log = eventually(lambda: [d for d in admin.get(f"/api/v1/webhooks/{hook['id']}/deliveries",
                                                   params={"limit": 200}).json()["items"]
                              if d["response_code"] == 503 and d["status"] == "pending"], timeout=20)
    # the log shows the failures: still pending (a retry planned), the attempts and the last answer beside
    assert log and log[0]["attempts"] >= 1 and log[0]["delivered_at"] is None
    receiver.status = 200  # up again: everything missed arrives
    wanted = {(first["id"], "sales.lead_created.v1")} | {(x["id"], "sales.lead_created.v1") for x in leads}

    def arrived():
        got = receiver.events()
        return got if wanted <= {(e["data"]["id"], e["type"]) for e in got} and len(
            [e for e in got if e["type"] == "sales.lead_updated.v1"]) >= 3 else None
    got = eventually(arrived, timeout=40)
    assert got, receiver.events()
    ids = [h["webhook-id"] for h, _ in receiver.got]
    assert len(ids) == len(set(ids))  # none twice
    for headers, body in receiver.got:
        verifier.verify(body, headers)
    about_first = [e for e in got if e["data"]["id"] == leads[0]["id"]
                   and e["type"] in ("sales.lead_created.v1", "sales.lead_updated.v1")]  # in the order they happened
    assert [e["type"] for e in about_first] == ["sales.lead_created.v1"] + ["sales.lead_updated.v1"] * 3
    assert [e["data"].get("changed_fields") for e in about_first[1:]] == [["title"]] * 3
    delivered = eventually(  # an outcome is recorded just after the receiver's answer
        lambda: admin.get(f"/api/v1/webhooks/{hook['id']}/deliveries", params={"status": "delivered", "limit": 200})
        .json()["items"], until=lambda items: len(items) >= len(receiver.got), timeout=20)
    assert len(delivered) == len(receiver.got)
    assert all(d["response_code"] == 200 and d["latency_ms"] is not None for d in delivered)

    rotated = admin.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret", json={"grace_hours": 1})
    assert rotated.status_code == 200, rotated.text
    ping = admin.post(f"/api/v1/webhooks/{hook['id']}/test")
    assert ping.status_code == 202, ping.text
    pinged = eventually(lambda: receiver.events("integration.webhook_test"), timeout=20)
    headers, body = next((h, b) for h, b in receiver.got if h["webhook-id"] == ping.json()["id"])
    assert len(headers["webhook-signature"].split(" ")) == 2 and pinged
    verifier.verify(body, headers)  # the old secret still verifies during the grace
    Verifier(rotated.json()["secret"]).verify(body, headers)
    assert admin.delete(f"/api/v1/webhooks/{hook['id']}").status_code == 204


def test_a_receiver_answering_410_disables_its_webhook(admin, receiver):
    hook = admin.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["sales.lead_created.v1"]}).json()
    receiver.status = 410
    lead(admin)
    state = eventually(lambda: admin.get(f"/api/v1/webhooks/{hook['id']}").json(), until=lambda h: not h["active"],
                       timeout=20)
    assert state["active"] is False and "410" in state["disabled_reason"]
    gave_up = admin.get(f"/api/v1/webhooks/{hook['id']}/deliveries", params={"status": "failed"}).json()["items"]
    assert [(d["status"], d["response_code"], d["next_attempt_at"]) for d in gave_up] == [("failed", 410, None)]
    assert admin.get("/api/v1/webhook-deliveries", params={"status": "dead"}).status_code == 422  # API.md's names

    def disabled_events():
        found, cursor = [], ""
        while True:
            page = admin.get("/api/v1/events", params={"types": "integration.*", "after": cursor}).json()
            found += [e for e in page["items"] if e["type"] == "integration.webhook_disabled.v1"
                      and e["data"]["id"] == hook["id"]]
            if not page["items"]:
                return found
            cursor = page["next_cursor"]
    told = eventually(disabled_events, timeout=20)  # the owner is told (an event, in the feed too)
    assert told and told[0]["data"]["reason"] == state["disabled_reason"]


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/hook",
                                 "http://192.168.1.1/", "http://[::1]:8080/", "http://localhost./", "ftp://example.com/"])
def test_a_webhook_to_an_internal_address_is_a_422_naming_url_and_nothing_is_made(admin, url):
    before = admin.get("/api/v1/webhooks", params={"limit": 200}).json()["items"]
    refused = admin.post("/api/v1/webhooks", json={"url": url, "events": ["sales.*"]})
    assert refused.status_code == 422 and "url" in refused.json()["errors"], refused.text
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert admin.get("/api/v1/webhooks", params={"limit": 200}).json()["items"] == before


def test_a_poller_of_the_feed_restarted_mid_way_misses_and_repeats_nothing(admin):
    start = admin.get("/api/v1/events", params={"types": "sales.lead_created.v1", "limit": 1000}).json()
    cursor = start["next_cursor"]
    while True:  # to the end of what is there
        page = admin.get("/api/v1/events", params={"types": "sales.lead_created.v1", "after": cursor}).json()
        if not page["items"]:
            assert page["next_cursor"] == cursor  # an empty page gives back the cursor it was given
            break
        cursor = page["next_cursor"]
    made, seen, saved = [], [], cursor
    for round_ in range(3):
        made += [lead(admin)["id"] for _ in range(4)]
        page = admin.get("/api/v1/events", params={"types": "sales.lead_created.v1", "after": saved, "limit": 3}).json()
        seen += [e["data"]["id"] for e in page["items"]]
        saved = page["next_cursor"]  # what a poller keeps; each round is a poller started afresh from it

    def drain():
        nonlocal saved
        while True:
            page = admin.get("/api/v1/events", params={"types": "sales.lead_created.v1", "after": saved}).json()
            if not page["items"]:
                return seen
            seen.extend(e["data"]["id"] for e in page["items"])
            saved = page["next_cursor"]
    eventually(drain, until=lambda s: len(s) >= len(made), timeout=20)
    assert seen == made
    bad = admin.get("/api/v1/events", params={"after": "not-a-cursor"})
    assert bad.status_code == 422 and "after" in bad.json()["errors"]


def test_the_catalogue_and_asyncapi_list_every_event_type_with_its_schema(admin, suite):
    catalog = admin.get("/api/v1/events/catalog")
    assert catalog.status_code == 200, catalog.text
    items = {i["type"]: i for i in catalog.json()["items"]}
    created = items["sales.lead_created.v1"]
    assert created["version"] == 1 and created["producer"] == "sales" and created["entity"] == "lead"
    assert "id" in created["schema"]["properties"]
    assert "integration.webhook_disabled.v1" in items
    doc = suite.get("/asyncapi.json")  # public, as /openapi.json is
    assert doc.status_code == 200
    body = doc.json()
    assert body["asyncapi"].startswith("3.") and "sales_lead_created_v1" in body["components"]["messages"]
    assert set(items) == {m["name"] for m in body["components"]["messages"].values()}


def test_only_roles_granted_the_feed_read_it(admin):
    rep = admin.as_new_user(["sales_rep"])
    assert rep.get("/api/v1/events").status_code == 403
    assert rep.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "events": ["*"]}).status_code == 403
    key_user = admin.as_new_user(["integration"])
    assert key_user.get("/api/v1/events", params={"limit": 1}).status_code == 200


def test_the_delivery_log_across_webhooks_shows_each_user_their_own_webhooks_deliveries(admin, receiver):
    role = admin.post("/api/v1/roles", json={"name": f"hook_owner_{uuid.uuid4().hex[:8]}", "permissions": {
        "webhook": {"read": "own", "create": "own", "update": "own", "delete": "own"}}})
    assert role.status_code == 201, role.text
    ada, bob = (admin.as_new_user([role.json()["name"]]) for _ in range(2))
    adas = ada.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["sales.lead_created.v1"]})
    bobs = bob.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["sales.lead_created.v1"]})
    assert adas.status_code == bobs.status_code == 201, (adas.text, bobs.text)
    lead(admin)

    def log_of(client, **params):
        page = client.get("/api/v1/webhook-deliveries", params={"limit": 200, **params})
        assert page.status_code == 200, page.text
        return page.json()["items"]
    mine = eventually(lambda: log_of(ada), timeout=20)
    assert {(d["webhook_id"], d["event_type"]) for d in mine} == {(adas.json()["id"], "sales.lead_created.v1")}
    assert {d["webhook_id"] for d in eventually(lambda: log_of(bob), timeout=20)} == {bobs.json()["id"]}
    both = {d["webhook_id"] for d in log_of(admin, event_type="sales.lead_created.v1")}
    assert {adas.json()["id"], bobs.json()["id"]} <= both
    assert log_of(ada, webhook_id=bobs.json()["id"]) == []
    assert ada.get(f"/api/v1/webhooks/{bobs.json()['id']}/deliveries").status_code == 404
    assert admin.as_new_user(["sales_rep"]).get("/api/v1/webhook-deliveries").status_code == 403
    for client, hook in ((ada, adas), (bob, bobs)):
        assert client.delete(f"/api/v1/webhooks/{hook.json()['id']}").status_code == 204
