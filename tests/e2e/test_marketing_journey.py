"""The marketer's journey of issue 13, through the gateway as a new user tries it: leads created in sales
make a segment; a template and a campaign to it; the send, its mails in var/mail/; a reader opens and clicks
one, another unsubscribes (the GET shows a page and changes nothing, the POST acts); the stats count all of
it; a visitor's form post becomes a lead in sales carrying the campaign, counted in the campaign's stats. A
bad input is a 422 problem and a denied request changes nothing."""
from __future__ import annotations

import re
import time
import uuid

import pytest

from crm_common.testing.waiting import eventually
from tests.e2e.marketing_e2e import caught_for, created, people_of, problem, public, wait_done

pytestmark = pytest.mark.e2e

HTML = ('<html><body><p>Dear {{ contact.first_name|default("friend") }},</p>'
        '<p><a href="https://engines.example/spring?src=mail">See the spring offer</a></p></body></html>')
LINK = re.compile(r'/(?:t/[oc]|u)/[A-Za-z0-9_\-.~=]+')


@pytest.fixture(scope="module")
def people(admin):
    return people_of(admin)


def paths(text: str, prefix: str) -> list[str]:
    return [found for found in LINK.findall(text) if found.startswith(prefix)]


def test_a_marketer_segments_sends_tracks_and_sees_what_the_campaign_earned(suite, admin, people):
    marketer, rep = people["marketer"], people["sales_rep"]
    tag = f"journey-{uuid.uuid4().hex[:8]}"
    readers = [(f"Reader{i}", f"reader{i}-{tag}@journey.example") for i in range(3)]
    for first_name, address in readers:
        created(marketer.post("/api/v1/leads", json={"first_name": first_name, "last_name": "Lovelace",
                                                     "email": address, "company": f"{first_name} Engines {tag}",
                                                     "industry": tag}))
    segment = created(marketer.post("/api/v1/segments", json={
        "name": f"Engines {tag}", "rules": {"all": [{"field": "industry", "op": "eq", "value": tag}]}}))
    eventually(lambda: marketer.get(f"/api/v1/segments/{segment['id']}/members").json(), timeout=30,
               until=lambda page: page.get("count") == len(readers))
    template = created(marketer.post("/api/v1/email-templates", json={
        "name": f"Spring {tag}", "subject": "Spring news for {{ contact.first_name|default('friend') }}",
        "html": HTML}))
    body = {"name": f"Spring {tag}", "type": "email", "segment_ids": [segment["id"]],
            "template_id": template["id"], "from_name": "Engines News", "from_email": "news@engines.example",
            "currency": "EUR", "actual_cost": "100.00"}

    # a denied request and a bad one change nothing
    before = admin.get("/api/v1/campaigns", params={"limit": 200}).json()["items"]
    problem(rep.post("/api/v1/campaigns", json=body), 403)
    bad = problem(marketer.post("/api/v1/campaigns", json={**body, "type": "radio", "budget": 12.5}), 422)
    assert set(bad["errors"]) == {"type", "budget"}
    assert admin.get("/api/v1/campaigns", params={"limit": 200}).json()["items"] == before
    campaign = created(marketer.post("/api/v1/campaigns", json=body))
    problem(rep.post(f"/api/v1/campaigns/{campaign['id']}/send", json={}), 403)
    assert marketer.get(f"/api/v1/campaigns/{campaign['id']}").json()["status"] == "draft"

    # the send, and its mails in var/mail/
    started = marketer.post(f"/api/v1/campaigns/{campaign['id']}/send", json={})
    assert started.status_code == 202, started.text
    done = wait_done(marketer, campaign["id"], started.json()["id"])
    assert (done["status"], done["total"], done["sent"], done["skipped"], done["failed"]) == ("done", 3, 3, 0, 0)
    sent_at = time.monotonic()
    caught = caught_for(suite, [address for _, address in readers])
    assert {to: len(mails) for to, mails in caught.items()} == {address: 1 for _, address in readers}
    mails = {to: mails[0] for to, mails in caught.items()}
    first, second = readers[0][1], readers[1][1]
    html = mails[first].get_body(("html",)).get_content()
    assert mails[first]["Subject"] == "Spring news for Reader0" and "Dear Reader0," in html
    assert "engines.example/spring" not in html and mails[first]["List-Unsubscribe-Post"] == (
        "List-Unsubscribe=One-Click")
    assert marketer.get(f"/api/v1/campaigns/{campaign['id']}").json()["status"] == "sent"

    # a reader opens and clicks (after the window in which hits are a link scanner's, as a browser)
    time.sleep(max(0.0, 5.5 - (time.monotonic() - sent_at)))  # CRM_TRACKING_SCANNER_SECONDS' default, 5
    (pixel,), (click,) = paths(html, "/t/o/"), paths(html, "/t/c/")
    opened = public(suite, "GET", pixel)
    assert opened.status_code == 200 and opened.headers["Content-Type"] == "image/gif"
    clicked = public(suite, "GET", click)
    assert clicked.status_code == 302 and clicked.headers["Location"] == "https://engines.example/spring?src=mail"

    # another unsubscribes: the GET of the link shows a page and changes nothing, the POST acts
    (unsubscribe,) = paths(mails[second]["List-Unsubscribe"], "/u/")
    shown = public(suite, "GET", unsubscribe)
    assert shown.status_code == 200 and 'method="post"' in shown.text
    assert marketer.get("/api/v1/suppressions/check", params={"email": second}).json()["suppressed"] is False
    done_page = public(suite, "POST", unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert done_page.status_code == 200 and "unsubscribed" in done_page.text
    check = marketer.get("/api/v1/suppressions/check", params={"email": second}).json()
    assert (check["suppressed"], check["reason"]) == (True, "unsubscribe")

    stats = marketer.get(f"/api/v1/campaigns/{campaign['id']}/stats").json()
    assert (stats["recipients"], stats["sent"], stats["opened"], stats["clicked"], stats["unique_opens"],
            stats["unsubscribed"], stats["machine_opens"], stats["leads"]) == (3, 3, 1, 1, 1, 1, 0, 0)

    # a visitor's form post becomes a lead in sales carrying the campaign, counted in its stats
    form = created(marketer.post("/api/v1/forms", json={
        "name": f"Spring sign-up {tag}", "campaign_id": campaign["id"],
        "fields": [{"name": "email", "label": "E-mail", "type": "email", "required": True},
                   {"name": "last_name", "label": "Last name", "required": True}]}))
    visitor = f"visitor-{tag}@journey.example"
    assert problem(public(suite, "POST", form["submit_path"], json={"email": "nope"}), 422)["errors"].keys() == {
        "email", "last_name"}
    answered = public(suite, "POST", form["submit_path"], json={"email": visitor, "last_name": "Hopper"})
    assert answered.status_code == 201, answered.text
    lead = eventually(lambda: marketer.get("/api/v1/leads", params={"email": visitor}).json()["items"], timeout=30,
                      until=bool)[0]
    assert (lead["last_name"], lead["campaign_id"], lead["source"]) == ("Hopper", campaign["id"], "web_form")
    earned = eventually(lambda: marketer.get(f"/api/v1/campaigns/{campaign['id']}/stats").json(), timeout=30,
                        until=lambda found: found["leads"] == 1)
    assert (earned["leads"], earned["sent"], earned["cost"], earned["currency"]) == (1, 3, "100.00", "EUR")
