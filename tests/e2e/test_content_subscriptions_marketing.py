"""A contact's content subscriptions in sales reach marketing's segments: a contact subscribed to the newsletter
through the gateway joins a segment with the topic rule, and leaves it when unsubscribed; a bad topic is a 422
naming the rule's value."""
from __future__ import annotations

import uuid

import pytest

from crm_common.testing.waiting import eventually
from tests.e2e.marketing_e2e import created, problem

pytestmark = pytest.mark.e2e

SEGMENTS = "/api/v1/segments"


def members(client, segment_id: str, expected: int) -> dict:
    return eventually(lambda: client.get(f"{SEGMENTS}/{segment_id}/members").json(), timeout=30,
                      until=lambda page: page.get("count") == expected)


def test_a_subscribed_contact_is_in_the_topic_segment_until_unsubscribed(admin):
    rep, marketer = admin.as_new_user(["sales_rep"]), admin.as_new_user(["marketer"])
    email = f"reader-{uuid.uuid4().hex[:8]}@topics.example"
    contact = created(rep.post("/api/v1/contacts", json={"first_name": "News", "last_name": "Reader",
                                                         "email": email}))
    other = created(rep.post("/api/v1/contacts", json={"first_name": "Not", "last_name": "Reader",
                                                       "email": f"not-{email}"}))
    mine = {"field": "owner_id", "op": "eq", "value": rep.user["id"]}  # this test's contacts only
    readers = created(marketer.post(SEGMENTS, json={"name": f"readers {email}", "rules": {
        "all": [mine, {"field": "topic", "op": "subscribed", "value": "newsletter"}]}}))
    members(marketer, readers["id"], 0)
    created(rep.post("/api/v1/content-subscriptions", json={"contact_id": other["id"], "topic": "webinars"}))
    subscription = created(rep.post("/api/v1/content-subscriptions", json={"contact_id": contact["id"],
                                                                          "topic": "newsletter"}))
    page = members(marketer, readers["id"], 1)
    assert [(m["kind"], m["source_id"], m["email"]) for m in page["items"]] == [("contact", contact["id"], email)]

    left = rep.post(f"/api/v1/content-subscriptions/{subscription['id']}/unsubscribe")
    assert left.status_code == 200 and left.json()["subscribed"] is False
    assert members(marketer, readers["id"], 0)["items"] == []
    outside = created(marketer.post(SEGMENTS, json={"name": f"not readers {email}", "rules": {
        "all": [mine, {"field": "topic", "op": "not_subscribed", "value": "newsletter"}]}}))
    assert {m["source_id"] for m in members(marketer, outside["id"], 2)["items"]} == {contact["id"], other["id"]}


def test_a_bad_topic_is_a_422_naming_the_rule(admin):
    marketer = admin.as_new_user(["marketer"])
    name = f"bad topic {uuid.uuid4().hex[:8]}"
    bad = problem(marketer.post(SEGMENTS, json={"name": name, "rules": {"all": [
        {"field": "topic", "op": "subscribed", "value": "podcasts"}]}}), 422)
    assert set(bad["errors"]) == {"rules.all.0.value"}
    assert marketer.get(SEGMENTS, params={"q": name}).json()["items"] == []
