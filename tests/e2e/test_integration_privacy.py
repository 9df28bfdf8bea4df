"""The event feed takes part in privacy erasure: after an erasure request for a lead's email, a poller of the
feed finds that lead's events at their places with their payload cut to the id, and the email nowhere; the
request completes with the integration service's part done."""
from __future__ import annotations

import json
import time
import uuid

import pytest

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e


def feed_after(admin, cursor):
    """Every event after `cursor` (the feed's pages to the end) and the cursor after the last."""
    items = []
    while True:
        page = admin.get("/api/v1/events", params={"after": cursor, "limit": 500} if cursor else {"limit": 500})
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if not page.json()["items"]:
            return items, cursor


def test_an_erasure_cuts_the_person_out_of_the_feed_and_keeps_the_order(admin):
    _, start = feed_after(admin, None)
    email = f"erase-me-{uuid.uuid4().hex[:8]}@example.com"
    lead = admin.post("/api/v1/leads", json={"first_name": "Eve", "last_name": "Gone", "company": "Vanish Ltd",
                                             "email": email})
    assert lead.status_code == 201, lead.text
    before = eventually(lambda: feed_after(admin, start)[0],
                        until=lambda items: any(email in json.dumps(i["data"]) for i in items))
    ours = [(i["cursor"], i["type"]) for i in before if i["data"].get("id") == lead.json()["id"]]
    assert ("sales.lead_created.v1" in {t for _, t in ours})

    asked = admin.post("/api/v1/privacy/erasure-requests", json={"email": email})
    assert asked.status_code == 202, asked.text
    deadline, request = time.time() + 30, None
    while time.time() < deadline:
        request = admin.get(f"/api/v1/privacy/requests/{asked.json()['id']}").json()
        if request["status"] != "pending":
            break
        time.sleep(0.5)
    assert request["status"] == "completed", request
    assert request["parts"]["integration"]["status"] == "done"

    after = feed_after(admin, start)[0]
    assert email not in json.dumps(after).lower()
    kept = [(i["cursor"], i["type"], i["data"]) for i in after if i["data"].get("id") == lead.json()["id"]]
    # the same events at the same places, each cut to the record's id (the later ones of the erasure too)
    assert [(c, t) for c, t, _ in kept][:len(ours)] == ours
    assert {json.dumps(d, sort_keys=True) for _, _, d in kept[:len(ours)]} == {
        json.dumps({"id": lead.json()["id"], "erased": True}, sort_keys=True)}
