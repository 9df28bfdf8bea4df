"""Social mentions through the gateway: a connector (an integration API key) posts what it found, once per
post; a marketer sees the sentiment, replies, ignores, or opens a service desk ticket (channel social) that
shows in /api/v1/tickets; bad input is a 422 and a role without the permission changes nothing."""
from __future__ import annotations

import uuid

import pytest

from crm_common.testing.waiting import eventually
from tests.e2e.marketing_e2e import people_of, problem

pytestmark = pytest.mark.e2e

BASE = "/api/v1/social/mentions"


@pytest.fixture(scope="module")
def people(admin):
    found = people_of(admin)
    key = admin.post("/api/v1/api-keys", json={"name": f"social connector {uuid.uuid4().hex[:6]}",
                                               "roles": ["integration"]})
    assert key.status_code == 201, key.text
    found["connector"] = admin.clone(api_key=key.json()["key"])
    return found


def post(external_id=None, **body) -> dict:
    return {"network": "twitter", "external_id": external_id or uuid.uuid4().hex, "author_handle": "@ada_l",
            "text": "Loving the new release, great work!", "url": "https://twitter.example/ada_l/status/1",
            "posted_at": "2026-12-01T09:00:00+01:00", **body}


def ingest(client, **body) -> dict:
    response = client.post(BASE, json=post(**body))
    assert response.status_code == 201, response.text
    return response.json()


def test_a_connector_posts_a_mention_once_and_its_sentiment_is_scored(people):
    connector, marketer = people["connector"], people["marketer"]
    response = connector.post(BASE, json=post(external_id="e2e-1" + uuid.uuid4().hex[:6],
                                              text="Terrible support, still waiting for my refund 😡"))
    assert response.status_code == 201, response.text
    mention = response.json()
    assert response.headers["Location"].endswith(f"{BASE}/{mention['id']}")
    assert (mention["status"], mention["sentiment_label"], mention["replies"], mention["ticket_id"]) == (
        "new", "negative", [], None)
    assert mention["sentiment"] < -0.2 and mention["posted_at"] == "2026-12-01T08:00:00.000000Z"
    again = problem(connector.post(BASE, json=post(external_id=mention["external_id"], text="edited")), 409)
    assert again["existing_id"] == mention["id"]
    assert marketer.get(f"{BASE}/{mention['id']}").json() == mention
    chinese = ingest(connector, text="我很喜欢这个产品，服务很好", network="weibo")
    assert chinese["sentiment_label"] == "positive"


def test_the_list_filters_by_status_network_and_sentiment(people):
    connector, analyst = people["connector"], people["analyst"]
    word = uuid.uuid4().hex[:8]
    happy = ingest(connector, text=f"{word} is great, thank you")
    angry = ingest(connector, text=f"{word} is broken again, awful", network="mastodon")
    found = analyst.get(BASE, params={"q": word, "sentiment": "negative"})
    assert found.status_code == 200, found.text
    assert [m["id"] for m in found.json()["items"]] == [angry["id"]]
    assert [m["id"] for m in analyst.get(BASE, params={"q": word, "network": "twitter"}).json()["items"]] == [happy["id"]]
    assert {m["id"] for m in analyst.get(BASE, params={"q": word, "status": "new"}).json()["items"]} == {
        happy["id"], angry["id"]}


def test_a_marketer_replies_ignores_and_opens_a_ticket_that_the_desk_shows(people, admin):
    connector, marketer = people["connector"], people["marketer"]
    question = ingest(connector, text="Does it run on Linux?")
    replied = marketer.post(f"{BASE}/{question['id']}/reply", json={"text": "Yes, on every major distribution."})
    assert replied.status_code == 200, replied.text
    assert replied.json()["status"] == "replied" and replied.json()["replies"][0]["replied_by"] == marketer.user["id"]
    assert problem(marketer.patch(f"{BASE}/{question['id']}", json={"status": "ignored"}), 409)["current_status"] == "replied"

    noise = ingest(connector, text="random words")
    ignored = marketer.patch(f"{BASE}/{noise['id']}", json={"status": "ignored"}, headers={"If-Match": '"1"'})
    assert ignored.status_code == 200 and ignored.json()["status"] == "ignored"

    angry = ingest(connector, text="My invoice is wrong and nobody answers", author_handle="grace_h")
    ticketed = marketer.post(f"{BASE}/{angry['id']}/ticket", json={"priority": "high"})
    assert ticketed.status_code == 200, ticketed.text
    mention = ticketed.json()
    assert mention["status"] == "ticket" and mention["ticket_id"]
    ticket = eventually(lambda: admin.get(f"/api/v1/tickets/{mention['ticket_id']}"), timeout=20,
                        until=lambda response: response.status_code == 200).json()
    assert (ticket["channel"], ticket["priority"], ticket["subject"]) == ("social", "high", "twitter: @grace_h")
    assert "My invoice is wrong" in ticket["description"] and ticket["requester_email"] is None
    listed = admin.get("/api/v1/tickets", params={"channel": "social", "limit": 200}).json()["items"]
    assert mention["ticket_id"] in [t["id"] for t in listed]
    twice = problem(marketer.post(f"{BASE}/{angry['id']}/ticket", json={}), 409)
    assert twice["ticket_id"] == mention["ticket_id"]


def test_bad_input_is_a_422_problem_naming_the_fields(people):
    connector, marketer = people["connector"], people["marketer"]
    bad = problem(connector.post(BASE, json=post(network="Twitter!", url="javascript:alert(1)", text="")), 422)
    assert set(bad["errors"]) == {"network", "url", "text"}
    assert set(problem(connector.post(BASE, json={**post(), "colour": "red"}), 422)["errors"]) == {"colour"}
    assert "posted_at" in problem(connector.post(BASE, json=post(posted_at="yesterday")), 422)["errors"]
    mention = ingest(connector)
    assert "text" in problem(marketer.post(f"{BASE}/{mention['id']}/reply", json={"text": ""}), 422)["errors"]
    assert "status" in problem(marketer.patch(f"{BASE}/{mention['id']}", json={"status": "replied"}), 422)["errors"]
    assert "priority" in problem(marketer.post(f"{BASE}/{mention['id']}/ticket", json={"priority": "asap"}), 422)["errors"]
    assert "sentiment" in problem(marketer.get(BASE, params={"sentiment": "angry"}), 422)["errors"]
    assert marketer.get(f"{BASE}/{mention['id']}").json() == mention


def test_a_role_without_the_permission_changes_nothing(people):
    connector, marketer, analyst, rep = (people[r] for r in ("connector", "marketer", "analyst", "sales_rep"))
    mention = ingest(connector)
    assert problem(analyst.post(f"{BASE}/{mention['id']}/reply", json={"text": "hi"}), 403)
    assert problem(analyst.post(f"{BASE}/{mention['id']}/ticket", json={}), 403)
    assert problem(connector.post(f"{BASE}/{mention['id']}/reply", json={"text": "hi"}), 403)
    assert problem(connector.patch(f"{BASE}/{mention['id']}", json={"status": "ignored"}), 403)
    assert problem(rep.get(BASE), 403)
    assert problem(rep.post(BASE, json=post()), 403)
    assert problem(analyst.post(BASE, json=post()), 403)
    assert marketer.get(f"{BASE}/{mention['id']}").json() == mention
