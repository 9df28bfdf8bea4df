"""Accounts and contacts in a real browser: the list, the record page with the whole timeline (deals,
tickets, calls, comments), a comment added from the page, in English and Chinese."""
from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_a_rep_sees_an_accounts_whole_picture_and_comments_on_it(suite, admin, console_for):
    rep = admin.create_user(["sales_rep"], full_name="Li Na")
    client = suite.login(rep["email"], rep["password"])
    tag = uuid.uuid4().hex[:6]
    account = client.post("/api/v1/accounts", json={"name": f"华南贸易 {tag}", "country": "CN",
                                                    "industry": "retail"}).json()
    contact = client.post("/api/v1/contacts", json={"account_id": account["id"], "first_name": "Mei",
                                                    "last_name": f"Chen{tag}", "email": f"mei.{tag}@example.cn"}).json()
    other = client.post("/api/v1/contacts", json={"account_id": account["id"], "last_name": f"Other{tag}"}).json()
    deal = client.post("/api/v1/opportunities", json={"name": f"Tea order {tag}", "amount": "12000.00",
                                                      "currency": "CNY", "account_id": account["id"],
                                                      "contact_id": contact["id"]})
    assert deal.status_code == 201, deal.text
    others_deal = client.post("/api/v1/opportunities", json={"name": f"Not hers {tag}", "amount": "1.00",
                                                             "currency": "CNY", "account_id": account["id"],
                                                             "contact_id": other["id"]})
    assert others_deal.status_code == 201, others_deal.text
    call = client.post("/api/v1/activities", json={"type": "call", "subject": f"Intro call {tag}",
                                                   "account_id": account["id"], "contact_id": contact["id"],
                                                   "outcome": "interested", "status": "done"})
    assert call.status_code == 201, call.text
    ticket = admin.post("/api/v1/tickets", json={"subject": f"Broken kettle {tag}", "description": "It leaks.",
                                                 "requester_email": contact["email"], "account_id": account["id"],
                                                 "contact_id": contact["id"], "assignee_id": rep["id"]})
    assert ticket.status_code == 201, ticket.text
    ticket = ticket.json()

    person = console_for()
    page = person.sign_in(rep["email"], rep["password"])
    page.wait_for_url("**/")
    page.get_by_role("link", name="Accounts").click()
    page.fill("#q", tag)
    page.get_by_role("button", name="Apply").click()
    page.get_by_role("link", name=account["name"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^" + re.escape(account["name"])))
    timeline = page.locator("ol.timeline")
    for text in (f"Tea order {tag}", f"Not hers {tag}", f"Intro call {tag}", ticket["number"]):
        expect(timeline).to_contain_text(text)
    expect(timeline.locator("li.call")).to_contain_text("Interested")
    expect(timeline.get_by_role("link", name=f"{ticket['number']} · Broken kettle {tag}")).to_have_count(1)

    page.click("form[novalidate] button.primary")  # an empty comment: the API's message beside the field
    expect(page.locator("#e-body")).to_be_visible()
    page.fill("#f-body", "Asked for a <b>bigger</b> discount")
    page.click("form[novalidate] button.primary")
    expect(page.locator(".flash")).to_contain_text("Comment added.")
    expect(timeline.locator("li.comment")).to_contain_text("Asked for a")
    assert client.get(f"/api/v1/accounts/{account['id']}/comments").json()["items"][0]["body"]
    person.shot("account-en")
    assert person.serious_violations() == []

    # the contact's page: her own deal, call and ticket, not the deal of her colleague
    page.get_by_role("link", name=f"Mei Chen{tag}").click()
    timeline = page.locator("ol.timeline")
    for text in (f"Tea order {tag}", f"Intro call {tag}", ticket["number"]):
        expect(timeline).to_contain_text(text)
    expect(timeline).not_to_contain_text(f"Not hers {tag}")
    expect(page.get_by_role("link", name=account["name"])).to_have_count(1)

    page.get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("heading", name="时间线")).to_be_visible()
    expect(timeline).to_contain_text("销售机会")
    expect(timeline).to_contain_text("服务请求")
    expect(page.get_by_role("link", name="客户")).to_be_visible()
    expect(page.get_by_role("link", name="联系人")).to_be_visible()
    person.shot("contact-zh")
    page.get_by_role("link", name="联系人").click()
    page.fill("#q", tag)
    page.get_by_role("button", name="应用").click()
    expect(page.locator("table.list tbody tr")).to_have_count(2)
    assert not person.csp_errors, person.csp_errors


def test_an_account_out_of_the_users_scope_is_not_found(suite, admin, console_for):
    owner = admin.create_user(["sales_rep"])
    stranger = admin.create_user(["sales_rep"])
    account = suite.login(owner["email"], owner["password"]).post(
        "/api/v1/accounts", json={"name": f"Private {uuid.uuid4().hex[:6]}"}).json()
    person = console_for()
    page = person.sign_in(stranger["email"], stranger["password"])
    page.wait_for_url("**/")
    answer = page.goto(f"{person.base_url}/accounts/{account['id']}")
    assert answer.status == 404 and account["name"] not in page.content()
    expect(page.locator("main")).to_contain_text("Not found, or not visible to you.")
