"""Forms, double opt-in and a message's public links through the gateway, as a visitor and a recipient
use them (no login): a form post becomes a lead in sales carrying the form's campaign, a honeypot records
nothing, bad answers are 422s, the double opt-in mail lands in the catcher and its link confirms; the pixel
is a GIF, a click goes only to the message's own link, a forged token is a 404 page, the GET of the
unsubscribe link changes nothing and its one-click POST unsubscribes."""
from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from crm_common.db import utcnow
from crm_common.testing.waiting import eventually
from tests.e2e.marketing_e2e import PROBLEM, mail_to, marketing_engine, people_of, public

pytestmark = pytest.mark.e2e

FIELDS = [{"name": "email", "label": "E-mail", "type": "email", "required": True},
          {"name": "first_name", "label": "First name"},
          {"name": "last_name", "label": "Last name", "required": True},
          {"name": "company", "label": "Company"},
          {"name": "consent", "label": "Send me news", "type": "checkbox"}]


def address(tag: str = "ada") -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}@forms.example"


@pytest.fixture(scope="module")
def people(admin):
    return people_of(admin)


@pytest.fixture(scope="module")
def marketing_db(suite):
    """The marketing service's database: the test sets up what another area makes (a campaign, a sent
    message), then acts only through the gateway."""
    engine = marketing_engine(suite)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def signing(suite):
    """Tokens signed with the running suite's marketing key (as the sender signs a message's links)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("CRM_MARKETING_KEY_FILE", str(Path(suite.suite.env["CRM_VAR_DIR"]) / "keys" / "marketing.key"))
    from crm_marketing.domain import tokens
    yield tokens
    patch.undo()


def a_campaign(marketing_db) -> str:
    from crm_marketing.models import Campaign
    campaign_id = str(uuid.uuid4())
    with marketing_db.begin() as conn:
        conn.execute(insert(Campaign.__table__).values(
            id=campaign_id, name="Spring webinar", type="webinar", status="draft", currency="USD", segment_ids=[],
            created_at=utcnow(), updated_at=utcnow(), version=1))
    return campaign_id


def a_sent_message(marketing_db, to: str, links: list[str]) -> str:
    from crm_marketing.domain.suppressions import email_hash
    from crm_marketing.models import Message
    message_id = str(uuid.uuid4())
    with marketing_db.begin() as conn:
        conn.execute(insert(Message.__table__).values(
            id=message_id, campaign_id=str(uuid.uuid4()), email=to, email_hash=email_hash(to), status="sent",
            is_test=False, attempts=1, links=links, created_at=utcnow(), sent_at=utcnow() - timedelta(hours=1)))
    return message_id


def make_form(marketer, **body) -> dict:
    response = marketer.post("/api/v1/forms", json={"name": "Webinar sign-up", "fields": FIELDS,
                                                    "consent_text": "I agree to hear from Engines.",
                                                    "consent_text_version": "2026-12", **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_form_post_becomes_a_lead_in_sales_with_the_forms_campaign(suite, admin, people, marketing_db):
    marketer = people["marketer"]
    campaign_id = a_campaign(marketing_db)
    form = make_form(marketer, campaign_id=campaign_id, redirect_url="https://engines.example/thanks",
                     honeypot_field="website")
    assert form["submit_path"] == f"/f/{form['id']}" and marketer.get(f"/api/v1/forms/{form['id']}").json() == form
    who = address()
    browser = public(suite, "POST", form["submit_path"], data={"email": who, "first_name": "Ada",
                                                               "last_name": "Lovelace", "consent": "on", "website": ""})
    assert browser.status_code == 303 and browser.headers["Location"] == "https://engines.example/thanks"
    lead = eventually(lambda: admin.get("/api/v1/leads", params={"email": who}).json()["items"], until=bool)[0]
    assert (lead["first_name"], lead["last_name"], lead["campaign_id"], lead["source"]) == (
        "Ada", "Lovelace", campaign_id, "web_form")
    again = public(suite, "POST", form["submit_path"], json={"email": who, "last_name": "Lovelace",
                                                             "company": "Analytical Engines"})
    assert again.status_code == 201 and again.json()["submission_id"]
    eventually(lambda: admin.get(f"/api/v1/leads/{lead['id']}").json()["company"], until="Analytical Engines".__eq__)
    assert len(admin.get("/api/v1/leads", params={"email": who}).json()["items"]) == 1  # updated, not doubled


def test_a_honeypot_records_nothing_and_bad_answers_are_422s(suite, admin, people):
    form = make_form(people["marketer"], honeypot_field="website")
    bot = address("bot")
    trapped = public(suite, "POST", form["submit_path"], json={"email": bot, "last_name": "Bot", "website": "x"})
    assert trapped.status_code == 201 and trapped.json()["submission_id"]
    bad = public(suite, "POST", form["submit_path"], json={"email": "nope", "colour": "red", "consent": "maybe"})
    assert bad.status_code == 422 and bad.headers["Content-Type"].startswith(PROBLEM)
    assert set(bad.json()["errors"]) == {"email", "last_name", "colour", "consent"}
    page = public(suite, "POST", form["submit_path"], data={"email": "<b>nope</b>"})
    assert page.status_code == 422 and page.headers["Content-Type"].startswith("text/html")
    assert "<b>email</b>" in page.text and "<b>last_name</b>" in page.text and "<b>nope" not in page.text
    assert public(suite, "POST", f"/f/{uuid.uuid4()}", json={"email": bot}).status_code == 404
    assert public(suite, "POST", form["submit_path"], data=b"<x/>",
                  headers={"Content-Type": "application/xml"}).status_code == 415
    bad_form = people["marketer"].post("/api/v1/forms", json={"name": "x", "fields": FIELDS,
                                                               "redirect_url": "javascript:alert(1)"})
    assert bad_form.status_code == 422 and "redirect_url" in bad_form.json()["errors"]
    denied = people["sales_rep"].post("/api/v1/forms", json={"name": "x", "fields": FIELDS})
    assert denied.status_code == 403
    assert people["analyst"].get(f"/api/v1/forms/{form['id']}").status_code == 200
    person = address("person")  # sent after the bot: once its lead is there, the bot's would be too
    assert public(suite, "POST", form["submit_path"], json={"email": person, "last_name": "Person"}).status_code == 201
    eventually(lambda: admin.get("/api/v1/leads", params={"email": person}).json()["items"], until=bool)
    assert admin.get("/api/v1/leads", params={"email": bot}).json()["items"] == []


def test_double_opt_in_mails_a_link_that_confirms(suite, people):
    form = make_form(people["marketer"], double_opt_in=True)
    who = address("grace")
    answered = public(suite, "POST", form["submit_path"], json={"email": who, "last_name": "Hopper", "consent": True})
    assert answered.status_code == 201
    mail = mail_to(suite, who)
    text = next(part for part in mail.walk() if part.get_content_type() == "text/plain").get_payload(decode=True)
    link = next(word for word in text.decode().split() if "/c/" in word)
    path = "/c/" + link.rsplit("/c/", 1)[1]
    scanned = public(suite, "GET", path, headers={"User-Agent": "Mimecast Link Scanner"})
    assert scanned.status_code == 200 and 'method="post"' in scanned.text  # a scanner confirms nothing
    confirmed = public(suite, "GET", path)
    assert confirmed.status_code == 200 and "confirmed" in confirmed.text and who not in confirmed.text
    assert public(suite, "GET", path).status_code == 200  # again: the same page
    forged = public(suite, "GET", path[:10] + ("A" if path[10] != "A" else "B") + path[11:])
    assert forged.status_code == 404 and forged.headers["Content-Type"].startswith("text/html")


def test_a_messages_links_through_the_gateway(suite, marketing_db, signing, people):
    who = address("linus")
    message_id = a_sent_message(marketing_db, who, ["https://engines.example/spring?utm=mail"])
    pixel = public(suite, "GET", f"/t/o/{signing.make('open', message_id)}")
    assert pixel.status_code == 200 and pixel.headers["Content-Type"] == "image/gif"
    assert "no-store" in pixel.headers["Cache-Control"] and pixel.content.startswith(b"GIF8")
    forged_pixel = public(suite, "GET", f"/t/o/{signing.make('open', message_id)[:-8]}xxxxxxxx")
    assert forged_pixel.status_code == 200 and forged_pixel.headers["Content-Type"] == "image/gif"
    click = public(suite, "GET", f"/t/c/{signing.make('click', message_id, 0)}?to=https://attacker.example/")
    assert click.status_code == 302 and click.headers["Location"] == "https://engines.example/spring?utm=mail"
    for token in (signing.make("click", message_id, 1), signing.make("open", message_id), "forged"):
        refused = public(suite, "GET", f"/t/c/{token}")
        assert refused.status_code == 404 and "Location" not in refused.headers

    unsubscribe = f"/u/{signing.make('unsubscribe', message_id)}"
    shown = public(suite, "GET", unsubscribe)
    assert shown.status_code == 200 and 'method="post"' in shown.text and who not in shown.text
    marketer = people["marketer"]
    assert marketer.get("/api/v1/suppressions/check", params={"email": who}).json()["suppressed"] is False
    done = public(suite, "POST", unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "unsubscribed" in done.text
    check = marketer.get("/api/v1/suppressions/check", params={"email": who}).json()
    assert (check["suppressed"], check["reason"]) == (True, "unsubscribe")
    assert public(suite, "GET", f"/u/{signing.make('open', message_id)}").status_code == 404
