"""Marketing in a real browser: a segment built from rules shows its live member count and members, a rule the
API refuses is named beside the rules; an email template is written and previewed for one contact."""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e


def test_a_marketer_builds_a_segment_and_previews_a_template_for_a_contact(suite, admin, console_for):
    tag = uuid.uuid4().hex[:6]
    industry = f"Pumps{tag}"
    account = admin.post("/api/v1/accounts", json={"name": f"泵业 {tag}", "country": "NZ",
                                                   "industry": industry}).json()
    contacts = [admin.post("/api/v1/contacts", json={"account_id": account["id"], "first_name": first,
                                                     "last_name": "Seg", "email": f"{first.lower()}.{tag}@example.nz"}
                           ).json() for first in ("Aroha", "Tane")]
    marketer = admin.create_user(["marketer"])
    client = suite.login(marketer["email"], marketer["password"])
    probe = client.post("/api/v1/segments", json={"name": f"probe {tag}", "rules": {"all": [
        {"field": "industry", "op": "eq", "value": industry}]}}).json()
    assert eventually(lambda: client.get(f"/api/v1/segments/{probe['id']}").json()["member_count"],
                      until=lambda count: count == 2, timeout=30) == 2  # marketing has both contacts with their account

    person = console_for()
    page = person.sign_in(marketer["email"], marketer["password"])
    page.wait_for_url("**/")
    page.get_by_role("link", name="Segments").click()
    page.get_by_role("link", name="New segment").click()
    page.fill("#f-name", f"新西兰泵业 {tag}")
    page.select_option("#r-0-field", "industry")
    page.select_option("#r-0-op", "eq")
    page.fill("#r-0-value", industry)
    page.get_by_role("button", name="Add a rule").click()
    page.select_option("#r-1-field", "score")
    page.select_option("#r-1-op", "gt")
    page.fill("#r-1-value", "many")  # not a number: the API names the rule
    page.get_by_role("button", name="Save and count").click()
    expect(page.locator("p.error")).to_contain_text("Rule 2")
    assert page.input_value("#r-0-value") == industry  # the form kept what was typed
    assert not [s for s in client.get("/api/v1/segments", params={"q": tag}).json()["items"]
                if s["name"] == f"新西兰泵业 {tag}"]
    page.select_option("#r-1-field", "country")
    page.select_option("#r-1-op", "in")
    page.fill("#r-1-value", "NZ, AU")
    page.get_by_role("button", name="Save and count").click()
    expect(page.locator(".flash")).to_contain_text("Segment saved: 2 members now.")
    expect(page.locator("#member-count")).to_have_text("2 members")
    members = page.locator("#h-members + ul")
    expect(members).to_contain_text(contacts[0]["email"])
    expect(members).to_contain_text(contacts[1]["email"])
    saved = next(s for s in client.get("/api/v1/segments", params={"q": tag}).json()["items"]
                 if s["name"] == f"新西兰泵业 {tag}")
    assert saved["rules"] == {"all": [{"field": "industry", "op": "eq", "value": industry},
                                      {"field": "country", "op": "in", "value": ["NZ", "AU"]}]}
    person.shot("segment-en")
    assert person.serious_violations() == []

    page.get_by_role("link", name="Templates").click()
    page.get_by_role("link", name="New template").click()
    page.fill("#f-name", f"Welcome {tag}")
    page.fill("#f-subject", "Hello {{ contact.first_name }}")
    page.fill("#f-html", "<p>Dear {{ contact.first_name|default(\"friend\") }} of {{ account.name }}</p>")
    page.get_by_role("button", name="Save template").click()
    expect(page.locator(".flash")).to_contain_text("Template saved.")
    page.select_option("#f-contact_id", contacts[0]["id"])
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-subject")).to_have_text("Hello Aroha")
    frame = page.frame_locator("iframe.preview")
    expect(frame.locator("p")).to_have_text(f"Dear Aroha of {account['name']}")
    page.fill("#f-contact_email", contacts[1]["email"])  # or by email, for a contact beyond the picker
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-subject")).to_have_text("Hello Tane")
    page.fill("#f-contact_email", f"nobody.{tag}@example.nz")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview .error")).to_have_text("No contact with this email, or not visible to you.")
    person.shot("template-preview-en")
    assert person.serious_violations() == []

    page.get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("link", name="细分", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="为一个联系人预览")).to_be_visible()
    person.shot("template-preview-zh")
    assert not person.csp_errors, person.csp_errors
