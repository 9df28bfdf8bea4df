"""The ticket queue and a ticket's page in a real browser: SLA badges, public replies apart from internal notes."""
from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_an_agent_answers_a_ticket_with_a_public_reply_and_an_internal_note(suite, admin, console_for):
    agent = admin.create_user(["support_agent"], full_name="Sun Li")
    subject = f"打印机无法连接 {uuid.uuid4().hex[:6]}"
    made = admin.post("/api/v1/tickets", json={"subject": subject, "description": "It stopped on Monday.",
                                               "priority": "urgent", "requester_email": "buyer@example.cn",
                                               "assignee_id": agent["id"]})
    assert made.status_code == 201, made.text
    ticket = made.json()

    person = console_for()
    page = person.sign_in(agent["email"], agent["password"])
    page.wait_for_url("**/")
    page.get_by_role("link", name="Tickets").click()
    row = page.locator("tr", has_text=subject)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Urgent")
    expect(row.locator("td")).to_have_count(5)  # the SLA cell: a badge once a policy gives the ticket due times
    person.shot("tickets-queue")
    row.get_by_role("link", name=ticket["number"]).click()

    page.click("button.primary")  # empty: the API's message beside the field
    expect(page.locator("#e-body")).to_be_visible()
    page.fill("#f-body", "Checked the logs: driver issue, not the customer's fault.")
    page.check("input[name=public][value='0']")
    page.click("button.primary")
    expect(page.locator(".flash")).to_contain_text("Internal note added.")
    page.fill("#f-body", "您好,我们已找到原因,今天会修复。")
    page.click("button.primary")
    expect(page.locator(".flash")).to_contain_text("Reply sent to the customer.")
    internal, public = page.locator(".comment.internal"), page.locator(".comment.public")
    expect(internal).to_have_count(1)
    expect(internal).to_contain_text("Internal note")
    expect(public).to_have_count(1)
    expect(public).to_contain_text("Reply to the customer")
    person.shot("ticket-page")
    comments = admin.get(f"/api/v1/tickets/{ticket['id']}/comments").json()["items"]
    assert sorted((c["public"], c["body"][:5]) for c in comments) == [(False, "Check"), (True, "您好,我们")]
    assert person.serious_violations() == []
    assert not person.csp_errors, person.csp_errors


def test_an_agent_fills_the_reply_with_a_macro_and_sends_it(suite, admin, console_for):
    manager = admin.as_new_user(["support_manager"])
    agent = admin.create_user(["support_agent"], full_name="Zhao Min")
    name = f"Driver fixed {uuid.uuid4().hex[:6]}"
    macro = manager.post("/api/v1/macros", json={
        "name": name, "body": "Hello {{ requester.name }}, {{ ticket.number }} is fixed. -- {{ agent.name }}"})
    assert macro.status_code == 201, macro.text
    made = admin.post("/api/v1/tickets", json={"subject": f"Scanner {uuid.uuid4().hex[:6]}", "description": "x",
                                               "requester_email": "buyer@example.cn", "requester_name": "Wang Fang",
                                               "assignee_id": agent["id"]})
    assert made.status_code == 201, made.text
    ticket = made.json()

    person = console_for()
    page = person.sign_in(agent["email"], agent["password"])
    page.wait_for_url("**/")
    person.go(f"/tickets/{ticket['id']}")
    page.select_option("#macro_id", label=name)  # htmx asks the console, which asks the API to render it
    expect(page.locator("#f-body")).to_have_value(re.compile("Wang Fang"))  # (no wait_for_function: the CSP forbids eval)
    body = page.input_value("#f-body")
    assert body.startswith(f"Hello Wang Fang, {ticket['number']} is fixed. -- ")
    person.shot("ticket-macro")
    page.click("button.primary")
    expect(page.locator(".flash")).to_contain_text("Reply sent to the customer.")
    comments = admin.get(f"/api/v1/tickets/{ticket['id']}/comments").json()["items"]
    assert [(c["public"], c["body"]) for c in comments] == [(True, body)]
    assert not person.csp_errors, person.csp_errors
