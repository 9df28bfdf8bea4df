"""A topic campaign's unsubscribe link, through the gateway as a reader uses it: contacts subscribed to the
newsletter in sales get a newsletter campaign; one presses the one-click unsubscribe of its mail and leaves the
newsletter only (not suppressed, the next newsletter skips her, a campaign of another topic still reaches her);
the other takes the page's second choice and leaves all marketing mail (suppressed). Sales follows: the content
subscriptions it shows end with the link (the topic's, or every one when all mail is left)."""
from __future__ import annotations

import re
import uuid

import pytest

from crm_common.testing.waiting import eventually
from tests.e2e.marketing_e2e import caught_for, created, people_of, public, wait_done

pytestmark = pytest.mark.e2e

SEGMENTS = "/api/v1/segments"
UNSUBSCRIBE = re.compile(r"/u/[A-Za-z0-9_\-]+")


@pytest.fixture(scope="module")
def people(admin):
    return people_of(admin)


def count(client, segment_id: str, expected: int) -> int:
    return eventually(lambda: client.get(f"{SEGMENTS}/{segment_id}/members").json().get("count"), timeout=30,
                      until=lambda found: found == expected)


def send(suite, marketer, segment_id: str, template_id: str, topic: str | None, tag: str) -> dict:
    campaign = created(marketer.post("/api/v1/campaigns", json={
        "name": f"{topic or 'no topic'} {tag}", "type": "email", "segment_ids": [segment_id],
        "template_id": template_id, "from_email": "news@topics.example", "topic": topic}))
    started = marketer.post(f"/api/v1/campaigns/{campaign['id']}/send", json={})
    assert started.status_code == 202, started.text
    return wait_done(marketer, campaign["id"], started.json()["id"])


def topics_of(rep, contact_id: str, expected: dict) -> dict:
    """{topic: subscribed} of the contact's content subscriptions as sales shows them (waiting for `expected`)."""
    return eventually(lambda: {e["topic"]: e["subscribed"] for e in rep.get(
        "/api/v1/content-subscriptions", params={"contact_id": contact_id}).json()["items"]}, timeout=10,
        until=lambda found: found == expected)


def suppressed(marketer, address: str) -> bool:
    return marketer.get("/api/v1/suppressions/check", params={"email": address}).json()["suppressed"]


def test_a_topic_campaigns_link_unsubscribes_from_the_topic_and_the_page_offers_all(suite, people):
    rep, marketer = people["sales_rep"], people["marketer"]
    tag = uuid.uuid4().hex[:8]
    ada, bob = (f"{name}-{tag}@topics.example" for name in ("ada", "bob"))
    contact_of = {}
    for first_name, address in (("Ada", ada), ("Bob", bob)):
        contact = contact_of[address] = created(rep.post("/api/v1/contacts", json={
            "first_name": first_name, "last_name": "Reader", "email": address}))
        for topic in ("newsletter", "events"):
            created(rep.post("/api/v1/content-subscriptions", json={"contact_id": contact["id"], "topic": topic}))
    mine = {"field": "owner_id", "op": "eq", "value": rep.user["id"]}  # this test's contacts only
    everyone = created(marketer.post(SEGMENTS, json={"name": f"readers {tag}", "rules": {"all": [mine]}}))
    readers = created(marketer.post(SEGMENTS, json={"name": f"newsletter readers {tag}", "rules": {
        "all": [mine, {"field": "topic", "op": "subscribed", "value": "newsletter"}]}}))
    count(marketer, readers["id"], 2)  # both contacts and their subscriptions reached marketing
    template = created(marketer.post("/api/v1/email-templates", json={
        "name": f"news {tag}", "subject": "News for {{ contact.first_name }}", "html": "<p>The news.</p>"}))

    first = send(suite, marketer, everyone["id"], template["id"], "newsletter", tag)
    assert (first["status"], first["sent"], first["skipped"]) == ("done", 2, 0)
    mails = {to: found[0] for to, found in caught_for(suite, [ada, bob]).items()}
    assert mails[ada]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    ada_link = UNSUBSCRIBE.search(mails[ada]["List-Unsubscribe"]).group(0)
    bob_link = UNSUBSCRIBE.search(mails[bob]["List-Unsubscribe"]).group(0)

    # the page says what the link does and offers all mail apart; the GET changes nothing
    shown = public(suite, "GET", ada_link)
    assert shown.status_code == 200 and "Stop newsletter mail" in shown.text
    assert shown.text.count('method="post"') == 2 and 'name="scope" value="all"' in shown.text
    assert count(marketer, readers["id"], 2) == 2 and not suppressed(marketer, ada)

    # RFC 8058's one-click POST (what a mail client sends): the newsletter only
    done = public(suite, "POST", ada_link, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "no more newsletter mail" in done.text
    assert "Unsubscribe from all marketing mail" in done.text  # still offered
    assert not suppressed(marketer, ada)
    count(marketer, readers["id"], 1)  # she left the newsletter
    assert topics_of(rep, contact_of[ada]["id"], {"newsletter": False, "events": True}) == {
        "newsletter": False, "events": True}  # and sales shows it: the newsletter only

    # the page's second choice: all marketing mail
    assert "Unsubscribe from all marketing mail" in public(suite, "GET", bob_link).text
    everything = public(suite, "POST", bob_link, data={"List-Unsubscribe": "One-Click", "scope": "all"})
    assert everything.status_code == 200 and "no more marketing mail" in everything.text
    check = marketer.get("/api/v1/suppressions/check", params={"email": bob}).json()
    assert (check["suppressed"], check["reason"]) == (True, "unsubscribe")
    assert "no more marketing mail" in public(suite, "GET", bob_link).text
    assert topics_of(rep, contact_of[bob]["id"], {"newsletter": False, "events": False}) == {
        "newsletter": False, "events": False}  # all marketing mail: every content subscription ended in sales

    # the next newsletter reaches neither; an events campaign still reaches Ada
    again = send(suite, marketer, everyone["id"], template["id"], "newsletter", tag)
    assert (again["status"], again["sent"], again["skipped"]) == ("done", 0, 2)
    other = send(suite, marketer, everyone["id"], template["id"], "events", tag)
    assert (other["status"], other["sent"], other["skipped"]) == ("done", 1, 1)
    assert {to: len(found) for to, found in caught_for(suite, [ada, bob]).items()} == {ada: 2, bob: 1}
