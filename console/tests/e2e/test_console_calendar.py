"""The week calendar in a real browser: book a meeting, meet the clash with "book anyway", in both languages."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_a_rep_books_a_clashing_meeting_only_when_told_to(suite, admin, console_for):
    rep = admin.create_user(["sales_rep"], full_name="Zhao Lei")
    client = suite.login(rep["email"], rep["password"])
    tag = uuid.uuid4().hex[:6]
    monday = date.today() - timedelta(days=date.today().weekday()) + timedelta(days=7)  # next week's Monday

    person = console_for()
    page = person.sign_in(rep["email"], rep["password"])
    page.wait_for_url("**/")
    page.get_by_role("link", name="Calendar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My calendar")
    page.get_by_role("link", name="Next week").click()
    expect(page.locator(f".day[data-day='{monday.isoformat()}']")).to_have_count(1)

    def book(subject, start, end):
        if page.locator("#f-subject").count() == 0:
            page.get_by_role("link", name="New meeting").click()
        page.fill("#f-subject", subject)
        page.fill("#f-day", monday.isoformat())
        page.fill("#f-start", start)
        page.fill("#f-end", end)
        page.click("button.primary")

    book(f"Kick-off {tag}", "10:00", "11:00")
    expect(page.locator(".flash")).to_contain_text("Meeting booked.")
    day = page.locator(f".day[data-day='{monday.isoformat()}']")
    expect(day).to_contain_text(f"Kick-off {tag}")
    person.shot("calendar-week-en")

    # the same person at 10:30: the clash is shown, nothing is booked until "Book anyway"
    book(f"Pricing review {tag}", "10:30", "11:30")
    expect(page.locator("#conflicts")).to_be_visible()
    expect(page.locator("#conflicts")).to_contain_text(f"Kick-off {tag}")

    def meetings():
        return [a["subject"] for a in client.get("/api/v1/activities", params={"type": "meeting"}).json()["items"]]
    assert meetings() == [f"Kick-off {tag}"]
    person.shot("calendar-clash-en")
    assert person.serious_violations() == []
    page.get_by_role("button", name="Book anyway").click()
    expect(page.locator(".flash")).to_contain_text("Meeting booked.")
    expect(page.locator(f".day[data-day='{monday.isoformat()}']")).to_contain_text(f"Pricing review {tag}")
    assert sorted(meetings()) == sorted([f"Kick-off {tag}", f"Pricing review {tag}"])

    # a time left empty is said beside the field; in Chinese the clash offers 仍然预订
    page.get_by_role("button", name="简体中文").click()
    page.get_by_role("link", name="新建会议").click()
    page.fill("#f-subject", f"午餐 {tag}")
    page.fill("#f-day", monday.isoformat())
    page.fill("#f-start", "")
    page.click("button.primary")
    expect(page.locator("#e-start")).to_be_visible()
    page.fill("#f-start", "10:45")
    page.fill("#f-end", "11:15")
    page.click("button.primary")
    expect(page.locator("#conflicts")).to_contain_text("此会议与以下会议冲突")
    person.shot("calendar-clash-zh")
    page.get_by_role("link", name="取消").click()
    assert len(meetings()) == 2
    assert not person.csp_errors, person.csp_errors
