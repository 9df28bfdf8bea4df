"""The console in a real browser against the running suite: sign in with MFA, languages, home, leads."""
from __future__ import annotations

import time
import re
import uuid

import pyotp
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_sign_in_with_the_mfa_step_switch_to_chinese_and_sign_out(suite, admin, console_for):
    rep = admin.create_user(["sales_rep"], full_name="Wang Fang")
    client = suite.login(rep["email"], rep["password"])
    totp = pyotp.TOTP(client.post("/api/v1/auth/mfa/enroll").json()["secret"])
    used = totp.now()
    assert client.post("/api/v1/auth/mfa/verify", json={"otp": used}).status_code == 200

    person = console_for()
    page = person.go("/leads/")
    assert "/login" in page.url  # not signed in: the login page, which comes back to the leads after
    person.shot("login-en")
    page.fill("#f-email", rep["email"])
    page.fill("#f-password", "not-the-password")
    page.click("button.primary")
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    page.fill("#f-password", rep["password"])
    page.click("button.primary")
    expect(page.get_by_label("One-time code")).to_be_visible()
    person.shot("login-mfa-step")
    page.fill("#f-otp", "000000" if totp.now() != "000000" else "111111")
    page.click("button.primary")
    expect(page.locator("main")).to_contain_text("Wrong one-time code.")
    # a code works once and `used` went to the enrolment: the next step's code (a phone clock one step ahead
    # is accepted), not a wait of up to 30 s for the next code
    page.fill("#f-otp", totp.at(time.time() + totp.interval))
    page.click("button.primary")
    page.wait_for_url("**/leads/")  # back where the user was going
    person.go("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Good day, Wang Fang")
    expect(page.get_by_role("heading", name="My pipeline")).to_be_visible()
    cookie = next(c for c in person.context.cookies() if c["name"] == "crm_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert rep["password"] not in str(person.context.cookies())  # the cookie holds an id, never a token
    person.shot("home-en")

    page.get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("您好,Wang Fang")
    expect(page.get_by_role("link", name="线索")).to_be_visible()
    assert page.get_attribute("html", "lang") == "zh-CN"
    person.shot("home-zh")
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    assert "/login" in page.url
    person.go("/")
    assert "/login" in page.url  # signed out for good
    assert not person.csp_errors, person.csp_errors


def test_a_rep_creates_a_lead_meets_the_duplicate_warning_and_converts_it(suite, admin, console_for):
    rep = admin.create_user(["sales_rep"], full_name="Li Lei")
    person = console_for()
    page = person.sign_in(rep["email"], rep["password"])
    page.wait_for_url("**/")
    email = f"zhao-{uuid.uuid4().hex[:8]}@example.cn"

    page.get_by_role("link", name="Leads").click()
    page.get_by_role("link", name="New lead").click()
    page.fill("#f-email", "not an email")
    page.fill("#f-last_name", "Zhao")
    page.click("button.primary")
    expect(page.locator("#e-email")).to_be_visible()  # the API's 422, beside its field
    page.fill("#f-first_name", "Min")
    page.fill("#f-company", "<b>Hangzhou</b> Tea Co.")
    page.fill("#f-email", email)
    page.fill("#f-country", "CN")
    page.click("button.primary")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^" + re.escape("Min Zhao")))
    expect(page.get_by_text("<b>Hangzhou</b> Tea Co.").first).to_be_visible()  # shown as text, never as markup

    person.go("/leads/new")
    page.fill("#f-last_name", "Zhao")
    page.fill("#f-email", email)
    page.click("button.primary")
    warning = page.locator("#duplicates")
    expect(warning).to_contain_text("may already exist")
    expect(warning).to_contain_text("<b>Hangzhou</b> Tea Co.")
    person.shot("lead-duplicate-warning")
    page.get_by_role("button", name="Create anyway").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^" + re.escape("Zhao")))

    person.go("/leads/")
    page.fill("#q", email)
    page.click("form.filters button")
    expect(page.locator("#lead-rows tbody tr")).to_have_count(2)  # (no wait_for_function: the CSP forbids eval)
    page.select_option("#sort", "-created_at")
    page.wait_for_url("**sort=-created_at**")
    rows = page.locator("#lead-rows tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_text(re.compile("^Zhao"))  # the newest first
    person.shot("leads-list")

    rows.nth(1).get_by_role("link").click()
    page.check("#f-create_opportunity")
    page.fill("#f-name", "Tea for the whole of Zhejiang")
    page.fill("#f-amount", "120000")
    page.fill("#f-currency", "CNY")
    page.click("form button.primary")
    expect(page.get_by_role("heading", name="Lead converted")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Tea for the whole of Zhejiang")
    person.shot("lead-converted")
    assert not person.csp_errors, person.csp_errors


def test_the_main_pages_fit_a_phone_and_have_no_serious_accessibility_violation(suite, admin, console_for):
    rep = admin.create_user(["sales_rep"], full_name="Chen Jing")
    # a long product name in the quote editor's menu (as a real catalogue has) must not widen the page
    long_name = "Stainless steel butterfly valve, flanged, DN150 PN16, EPDM seat " + uuid.uuid4().hex[:8]
    made = admin.post("/api/v1/products", json={"name": long_name, "sku": f"V-{uuid.uuid4().hex[:8]}",
                                                "unit_price": "1234.00", "currency": "CNY"})
    assert made.status_code == 201, made.text
    person = console_for(width=375, locale="zh-CN")
    page = person.go("/login")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()  # the browser's language
    found = {"login": person.serious_violations()}
    person.sign_in(rep["email"], rep["password"])
    page.wait_for_url("**/")
    for name, path in (("home", "/"), ("leads", "/leads/"), ("new-lead", "/leads/new"), ("deals", "/deals/"),
                       ("deals-list", "/deals/list"), ("accounts", "/accounts/"), ("tickets", "/tickets/"),
                       ("new-quote", "/quotes/new")):
        person.go(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, f"{name} is wider than a phone"
        person.shot(f"{name}-phone-zh")
        found[name] = person.serious_violations()
    assert found == {name: [] for name in found}
