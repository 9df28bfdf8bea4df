"""Notifications and the audit trail in a real browser: a rep @mentioned on their lead finds the mentions on the
home page and their count in the menu, opens the lead from one, marks one read then all (a form without its CSRF
token changes nothing); an administrator finds the audit entry of a change the test made, filtered by entity,
in both languages; a manager is offered no audit trail and is refused it (404)."""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e


def test_a_rep_reads_their_mentions_and_marks_them_read(suite, admin, console_for):
    tag = uuid.uuid4().hex[:6]
    rep = admin.create_user(["sales_rep"], full_name=f"Rep {tag}")
    mine = suite.login(rep["email"], rep["password"])
    lead = admin.post("/api/v1/leads", json={"first_name": "Lin", "last_name": f"Mention {tag}", "company": f"Co {tag}",
                                             "owner_id": rep["id"], "force": True}).json()
    for text in ("please call", "and send the brochure"):
        made = admin.post(f"/api/v1/leads/{lead['id']}/comments", json={"body": f"@{rep['email']} {text}"})
        assert made.status_code == 201, made.text
    inbox = eventually(lambda: mine.get("/api/v1/notifications").json(),
                       until=lambda answer: answer["unread_count"] == 2, timeout=30)
    assert {n["record_id"] for n in inbox["items"]} == {lead["id"]}

    person = console_for()
    page = person.sign_in(rep["email"], rep["password"])
    page.wait_for_url("**/")
    page.locator("#unread-count", has_text="2 unread").wait_for()  # the menu's count, loaded after the page
    box = page.locator("section#notifications")
    expect(box.get_by_role("heading", name="Notifications")).to_be_visible()
    expect(box.locator("li.unread")).to_have_count(2)
    person.shot("notifications-home-en")
    assert person.serious_violations() == []

    refused = page.request.post(person.base_url + "/notifications/read-all")  # no CSRF token: nothing changes
    assert refused.status == 400
    assert mine.get("/api/v1/notifications").json()["unread_count"] == 2

    box.locator("li.unread").first.get_by_role("button", name="Mark read").click()
    page.wait_for_url("**/#notifications")
    expect(box.locator("li.unread")).to_have_count(1)
    expect(box.locator("li.read")).to_have_count(1)
    page.locator("#unread-count", has_text="1 unread").wait_for()
    assert mine.get("/api/v1/notifications").json()["unread_count"] == 1

    box.locator("li.read a").click()  # a mention links to the record it is about
    page.wait_for_url(f"**/leads/{lead['id']}")
    expect(page.locator("main")).to_contain_text(f"Mention {tag}")

    page.get_by_role("link", name="Home").click()
    page.get_by_role("button", name="简体中文").click()
    box = page.locator("section#notifications")
    expect(box.get_by_role("heading", name="通知")).to_be_visible()
    expect(box.locator("li.unread")).to_contain_text("未读")
    person.shot("notifications-home-zh")
    box.get_by_role("button", name="全部标为已读").click()
    page.wait_for_url("**/#notifications")
    expect(box.locator("li.read")).to_have_count(2)
    expect(box.locator("li.unread")).to_have_count(0)
    expect(box.get_by_role("button", name="全部标为已读")).to_have_count(0)
    assert mine.get("/api/v1/notifications").json()["unread_count"] == 0
    page.wait_for_load_state("networkidle")
    expect(page.locator("#unread-count")).to_have_text("")  # nothing unread: no count in the menu
    assert not person.csp_errors, person.csp_errors


def test_an_administrator_finds_the_audit_entry_of_a_change(suite, admin, console_for):
    tag = uuid.uuid4().hex[:6]
    lead = admin.post("/api/v1/leads", json={"first_name": "Wu", "last_name": f"Audit {tag}", "company": f"Co {tag}",
                                             "force": True}).json()
    entries = eventually(lambda: admin.get("/api/v1/audit", params={"entity_type": "lead",
                                                                    "entity_id": lead["id"]}).json()["items"],
                         until=lambda found: any(e["action"] == "create" for e in found), timeout=30)
    entry = next(e for e in entries if e["action"] == "create")
    assert entry["actor_id"] == admin.user["id"]

    person = console_for()
    page = person.sign_in(suite.admin_email, suite.admin_password)
    page.wait_for_url("**/")
    page.get_by_role("link", name="Administration").click()
    page.get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    page.fill("#entity_type", "lead")
    page.fill("#entity_id", lead["id"])
    page.fill("#actor_id", admin.user["id"])
    page.get_by_role("button", name="Apply").click()
    rows = page.locator("table.audit tbody tr")
    expect(rows.filter(has_text=entry["action"]).first).to_be_visible()
    assert rows.count() == rows.get_by_role("link", name=lead["id"]).count()  # this lead's only
    made = rows.filter(has_text=entry["action"]).first
    expect(made).to_contain_text("lead")
    expect(made).to_contain_text(admin.user["id"])  # who did it, to which record
    person.shot("audit-en")
    assert person.serious_violations() == []

    page.fill("#entity_id", str(uuid.uuid4()))  # another record: not this entry
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("table.audit")).to_contain_text("No entries match.")

    page.go_back()
    page.get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("heading", name="审计日志")).to_be_visible()
    page.locator("table.audit tbody tr").first.get_by_role("link", name=lead["id"]).click()
    page.wait_for_url(f"**/leads/{lead['id']}")  # the entry links to its record
    person.shot("audit-zh")
    assert not person.csp_errors, person.csp_errors


def test_a_manager_is_offered_no_audit_trail(suite, admin, console_for):
    manager = admin.create_user(["sales_manager"])
    person = console_for()
    page = person.sign_in(manager["email"], manager["password"])
    page.wait_for_url("**/")
    expect(page.get_by_role("link", name="Audit trail")).to_have_count(0)
    answer = page.goto(person.base_url + "/admin/audit/?entity_type=lead")
    assert answer.status == 404
    expect(page.locator("main")).to_contain_text("Not found, or not visible to you.")
