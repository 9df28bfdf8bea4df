"""The customer portal in a real browser: a customer opens a request, an agent answers it in the console,
the customer sees the public reply and never the internal note; published help articles with search."""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
PASSWORD = "Portal-Passw0rd-42!"


def created(response):
    assert response.status_code == 201, response.text
    return response.json()


def test_a_customer_opens_a_request_and_sees_the_public_reply_but_not_the_internal_note(suite, admin, console_for):
    email = f"cust-{uuid.uuid4().hex[:8]}@example.com"
    created(admin.post("/api/v1/portal-customers", json={"email": email, "full_name": "Carla Customer",
                                                         "password": PASSWORD, "contact_id": str(uuid.uuid4())}))
    word = f"zorblax{uuid.uuid4().hex[:6]}"
    created(admin.post("/api/v1/kb/articles", json={"title": f"Reset the {word} router", "status": "published",
                                                    "body": "Hold the button for ten seconds.", "category": "network"}))
    created(admin.post("/api/v1/kb/articles", json={"title": f"{word} internals", "body": "staff only draft"}))
    agent = admin.create_user(["support_agent"], full_name="Sun Li")

    customer = console_for()
    page = customer.sign_in(email, PASSWORD)
    page.wait_for_url("**/portal/")  # a customer's home is the portal
    expect(page.get_by_role("link", name="Opportunities")).to_have_count(0)  # no staff pages offered
    page.get_by_role("navigation", name="Main").get_by_role("link", name="New request").click()
    page.click("button.primary")  # empty: the API's message beside the field
    expect(page.locator("#e-subject")).to_be_visible()
    subject = f"路由器一直闪红灯 {uuid.uuid4().hex[:6]}"
    page.fill("#f-subject", subject)
    page.fill("#f-description", "Since Monday <b>nothing</b> works.")
    page.click("button.primary")
    page.wait_for_url("**/portal/tickets/*-*", timeout=30000)
    expect(page.locator(".flash")).to_contain_text("was received")
    assert "<b>nothing</b>" not in page.inner_html("main")  # the customer's text shown, never run as HTML
    customer.shot("portal-ticket-new")
    ticket_url = page.url
    ticket_id = ticket_url.rstrip("/").rsplit("/", 1)[1]
    page.fill("#f-body", "It is the model X200.")
    page.click("button.primary")
    expect(page.locator(".flash")).to_contain_text("Your reply was sent.")

    assert admin.patch(f"/api/v1/tickets/{ticket_id}", json={"assignee_id": agent["id"]}).status_code == 200
    staff = console_for()
    desk = staff.sign_in(agent["email"], agent["password"])
    desk.wait_for_url("**/")
    staff.go(f"/tickets/{ticket_id}")
    expect(desk.locator(".comment.public")).to_contain_text("It is the model X200.")  # the customer's reply reached the desk
    desk.fill("#f-body", "Internal: probably the firmware bug 4711.")
    desk.check("input[name=public][value='0']")
    desk.click("button.primary")
    expect(desk.locator(".flash")).to_contain_text("Internal note added.")
    desk.fill("#f-body", "您好,请按住重置按钮十秒钟。")
    desk.click("button.primary")
    expect(desk.locator(".flash")).to_contain_text("Reply sent to the customer.")

    page.goto(ticket_url)
    conversation = page.locator("section[aria-labelledby=h-conv]")
    expect(conversation).to_contain_text("您好,请按住重置按钮十秒钟。")
    expect(conversation).to_contain_text("It is the model X200.")
    expect(page.locator(".comment.mine")).to_have_count(1)
    expect(page.locator(".comment")).to_have_count(2)
    assert "firmware bug 4711" not in page.content()
    customer.shot("portal-ticket")
    assert customer.serious_violations() == []

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My requests").click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)  # only their own request
    expect(rows).to_contain_text(subject)
    customer.shot("portal-requests")

    page.get_by_role("link", name="Help articles").click()
    page.fill("#f-q", f"{word} reset")
    page.get_by_role("button", name="Search").click()
    found = page.locator("ul.articles li")
    expect(found).to_have_count(1)  # the draft is not offered
    expect(found).to_contain_text(f"Reset the {word} router")
    found.get_by_role("link").click()
    expect(page.locator("article")).to_contain_text("Hold the button for ten seconds.")
    customer.shot("portal-article")

    page.click("button[value=zh]")  # the portal in Chinese (expect waits for the page the switch comes back to)
    expect(page.get_by_role("link", name="我的服务请求")).to_have_count(1)
    page.get_by_role("link", name="我的服务请求").click()
    customer.shot("portal-requests-zh")
    assert customer.serious_violations() == []
    assert not customer.csp_errors and not staff.csp_errors, customer.csp_errors + staff.csp_errors
