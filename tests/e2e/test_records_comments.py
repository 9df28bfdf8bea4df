"""Comments with @mentions through the gateway: a rep comments on a deal mentioning a colleague, who finds a
mention in their notifications (the author mentioning themselves gets none); the manager reads it, a rep of another
team neither reads nor comments (404), unknown mentions are refused."""
from __future__ import annotations

import uuid

import pytest

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e


def test_a_rep_mentions_a_colleague_on_a_deal(admin):
    team = admin.post("/api/v1/teams", json={"name": f"Comments {uuid.uuid4().hex[:6]}"}).json()
    rep = admin.as_new_user(["sales_rep"], team_id=team["id"])
    colleague = admin.as_new_user(["sales_rep"], team_id=team["id"])
    stranger = admin.as_new_user(["sales_rep"])
    deal = rep.post("/api/v1/opportunities", json={"name": "Deal", "amount": "10.00", "currency": "EUR"}).json()
    path = f"/api/v1/opportunities/{deal['id']}/comments"
    body = {"body": f"<p>Can you call them, @{colleague.user['email']}?</p><script>x()</script>"}
    made = eventually(lambda: rep.post(path, json=body), until=lambda r: r.status_code != 422, timeout=30)
    assert made.status_code == 201, made.text
    comment = made.json()
    assert comment["mentions"] == [colleague.user["id"]] and "<script>" not in comment["body"]
    assert [item["id"] for item in admin.get(path).json()["items"]] == [comment["id"]]
    assert stranger.get(path).status_code == 404
    assert stranger.post(path, json={"body": "hi"}).status_code == 404
    ghost = rep.post(path, json={"body": "ping @nobody-here@example.com"})
    assert ghost.status_code == 422 and "body" in ghost.json()["errors"]
    assert [item["id"] for item in rep.get(path).json()["items"]] == [comment["id"]]  # the refused one left nothing

    def mentions(client):
        return [n for n in client.get("/api/v1/notifications").json()["items"]
                if n["kind"] == "mention" and n["record_id"] == deal["id"]]
    told = eventually(lambda: mentions(colleague), until=lambda found: found, timeout=30)
    assert len(told) == 1 and told[0]["read_at"] is None and told[0]["resource"] == "opportunity"
    own = rep.post(path, json={"body": f"note to self @{rep.user['email']}"})
    assert own.status_code == 201 and own.json()["mentions"] == [rep.user["id"]]
    again = rep.post(path, json={"body": f"and again, @{colleague.user['email']}"})
    assert again.status_code == 201
    eventually(lambda: mentions(colleague), until=lambda found: len(found) == 2, timeout=30)
    assert mentions(rep) == []  # the note to self came before the second mention, and told nobody
