"""The menu offers only what the signed-in user's roles may use (the grants /me gives): an agent sees no
opportunities, leads or quotes; a rep no campaigns; the home page shows only the boxes of their own work."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def _menu(page) -> list[str]:
    return [text.strip() for text in page.locator("header nav a").all_inner_texts()]


def test_each_role_is_offered_only_the_pages_it_may_use(suite, admin, console_for):
    agent = admin.create_user(["support_agent"], full_name="Zhao Lei")
    person = console_for()
    page = person.sign_in(agent["email"], agent["password"])
    page.wait_for_url("**/")
    menu = _menu(page)
    assert "Tickets" in menu and "Accounts" in menu and "Contacts" in menu
    for refused in ("Opportunities", "Leads", "Quotes", "Orders", "Contracts", "Campaigns", "Segments", "Templates",
                    "Administration"):
        assert refused not in menu, (refused, menu)
    expect(page.get_by_role("heading", name="My open tickets")).to_be_visible()
    expect(page.get_by_role("heading", name="My pipeline")).to_have_count(0)  # no box of what they may not read
    expect(page.get_by_role("heading", name="My new leads")).to_have_count(0)
    person.shot("menu-agent-en")
    assert person.serious_violations() == []
    page.get_by_role("button", name="简体中文").click()
    menu = _menu(page)
    assert "服务请求" in menu and "客户" in menu, menu
    assert "销售机会" not in menu and "线索" not in menu and "报价" not in menu
    person.shot("menu-agent-zh")

    rep = admin.create_user(["sales_rep"])
    other = console_for()
    page = other.sign_in(rep["email"], rep["password"])
    page.wait_for_url("**/")
    menu = _menu(page)
    for offered in ("Leads", "Accounts", "Contacts", "Opportunities", "Quotes", "Orders", "Contracts", "Calendar"):
        assert offered in menu, (offered, menu)
    for refused in ("Campaigns", "Segments", "Templates", "Administration"):
        assert refused not in menu, (refused, menu)
    expect(page.get_by_role("heading", name="My pipeline")).to_be_visible()

    marketer = admin.create_user(["marketer"])
    third = console_for()
    page = third.sign_in(marketer["email"], marketer["password"])
    page.wait_for_url("**/")
    menu = _menu(page)
    for offered in ("Leads", "Campaigns", "Reports"):
        assert offered in menu, (offered, menu)
    for refused in ("Opportunities", "Quotes", "Tickets", "Calendar", "Administration"):
        assert refused not in menu, (refused, menu)
    assert not (person.csp_errors or other.csp_errors or third.csp_errors)
