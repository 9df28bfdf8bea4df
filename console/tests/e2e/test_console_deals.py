"""The opportunities kanban in a real browser: drag to won, a stale card, the lost reason, 50 a column."""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_a_rep_drags_deals_across_the_board(suite, admin, console_for):
    rep = admin.create_user(["sales_rep"], full_name="Zhou Jie")
    client = suite.login(rep["email"], rep["password"])
    tag = uuid.uuid4().hex[:6]

    def deal(name):
        made = client.post("/api/v1/opportunities", json={"name": f"{name} {tag}", "amount": "5000.00",
                                                           "currency": "CNY", "stage": "prospecting"})
        assert made.status_code == 201, made.text
        return made.json()
    won, stale, lost = deal("Green tea"), deal("Oolong"), deal("Pu-erh")
    for i in range(51):  # one more than a column shows at first
        client.post("/api/v1/opportunities", json={"name": f"Filler {i} {tag}", "amount": "1.00", "currency": "CNY",
                                                   "stage": "qualification"})

    person = console_for()
    page = person.sign_in(rep["email"], rep["password"])
    page.wait_for_url("**/")
    page.get_by_role("link", name="Opportunities").click()
    drag(page, won, "closed_won")
    page.wait_for_selector(".flash")
    expect(page.locator(".flash")).to_contain_text("Moved to Closed won.")
    # (expect retries: the flash is parsed before the columns below it, so a bare count() may run too early)
    expect(page.locator(f".column[data-stage='closed_won'] .deal[data-id='{won['id']}']")).to_have_count(1)
    assert client.get(f"/api/v1/opportunities/{won['id']}").json()["stage"] == "closed_won"
    person.shot("deals-board")

    # someone else changes the deal while the board is open: the move is refused and said so
    changed = client.patch(f"/api/v1/opportunities/{stale['id']}", json={"amount": "6000.00"},
                           headers={"If-Match": f'"{stale["version"]}"'})
    assert changed.status_code == 200, changed.text
    drag(page, stale, "proposal")
    page.wait_for_selector(".flash.warn")
    expect(page.locator(".flash")).to_contain_text("Changed by someone else")
    assert client.get(f"/api/v1/opportunities/{stale['id']}").json()["stage"] == "prospecting"

    # lost asks why, beside the field when left empty
    drag(page, lost, "closed_lost")
    page.wait_for_selector("#f-lost_reason")
    page.click("button.primary")
    expect(page.locator("#e-lost_reason")).to_be_visible()
    page.fill("#f-lost_reason", "价格太高 (price too high)")
    page.click("button.primary")
    page.wait_for_selector(".flash")
    got = client.get(f"/api/v1/opportunities/{lost['id']}").json()
    assert got["stage"] == "closed_lost" and got["lost_reason"] == "价格太高 (price too high)"

    column = page.locator(".column[data-stage='qualification']")
    expect(column.locator(".deal")).to_have_count(50)
    column.get_by_role("button", name="Load 50 more").click()
    column.locator(".deal").nth(50).wait_for()  # the 51st card
    assert not person.csp_errors, person.csp_errors


def drag(page, deal, stage):
    """Drag the card by its title (not its stage menu) onto the column's heading, once the page has settled (the
    columns' totals arrive after the board: a drag aimed before they land could pick up the card above)."""
    page.wait_for_load_state("networkidle")
    page.locator(f".deal[data-id='{deal['id']}'] h3").drag_to(page.locator(f".column[data-stage='{stage}'] h2"))
