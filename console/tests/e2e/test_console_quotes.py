"""Quotes, orders and contracts in a real browser: a quote's lines and totals, sent (a discount over the limit
waits for approval), accepted into an order, and the contract's Word document downloaded."""
from __future__ import annotations

import io
import re
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_a_rep_sends_a_quote_places_the_order_and_downloads_the_contract(suite, admin, console_for):
    rep = admin.create_user(["sales_rep"], full_name="Qian Yu")
    client = suite.login(rep["email"], rep["password"])
    tag = uuid.uuid4().hex[:6]
    account = client.post("/api/v1/accounts", json={"name": f"北方机械 {tag}"}).json()
    limit = float(admin.get("/api/v1/sales-settings").json()["discount_approval_percent"])
    quote = client.post("/api/v1/quotes", json={"account_id": account["id"], "currency": "CNY", "tax_percent": "13",
                                                "lines": [{"description": f"Pump {tag}", "quantity": "2",
                                                           "unit_price": "1500.00"},
                                                          {"description": "Install", "quantity": "1",
                                                           "unit_price": "300.00", "discount_percent": "10"}]})
    assert quote.status_code == 201, quote.text
    quote = quote.json()
    total = f"CN¥{Decimal(quote['total']):,.2f}"  # 2 x 1500 + 300 less 10 %, plus 13 % tax: 3695.10
    assert quote["total"] == "3695.10"
    greedy = client.post("/api/v1/quotes", json={"account_id": account["id"], "currency": "CNY", "lines": [
        {"description": "Big discount", "quantity": "1", "unit_price": "100.00",
         "discount_percent": str(limit + 5)}]}).json()

    person = console_for()
    page = person.sign_in(rep["email"], rep["password"])
    page.wait_for_url("**/")
    person.go(f"/quotes/{greedy['id']}")
    page.get_by_role("button", name="Send for approval").click()
    expect(page.locator(".flash")).to_contain_text("Sent for approval")  # the API's 409 (approval requested), said in words
    assert client.get(f"/api/v1/quotes/{greedy['id']}").json()["status"] == "draft"

    page.get_by_role("link", name="Quotes").click()
    page.locator("table.list tr", has=page.get_by_text(total)).get_by_role("link").click()
    expect(page.locator("table.lines")).to_contain_text(f"Pump {tag}")
    foot = page.locator("table.lines tfoot")
    expect(foot).to_contain_text("Subtotal")
    expect(foot).to_contain_text(total)
    expect(page.get_by_role("link", name=account["name"])).to_have_count(1)
    person.shot("quote-en")
    page.get_by_role("button", name="Send quote").click()
    expect(page.locator(".flash")).to_contain_text("Quote sent.")
    page.get_by_role("button", name="Customer accepted: place the order").click()
    expect(page.locator(".flash")).to_contain_text("the order is placed")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^" + re.escape("Order")))
    expect(page.locator("table.lines tfoot")).to_contain_text(total)
    order_id = page.url.rstrip("/").rsplit("/", 1)[1]
    assert client.get(f"/api/v1/orders/{order_id}").json()["quote_id"] == quote["id"]

    today = date.today()
    contract = client.post("/api/v1/contracts", json={"order_id": order_id, "starts_on": today.isoformat(),
                                                      "ends_on": (today + timedelta(days=365)).isoformat(),
                                                      "terms": "付款期限 30 天。"}).json()
    page.get_by_role("link", name="Contracts").click()
    page.get_by_role("link", name=f"{today.isoformat()} – {(today + timedelta(days=365)).isoformat()}").first.click()
    expect(page.locator("main")).to_contain_text("付款期限 30 天。")
    assert page.url.endswith(contract["id"])
    with page.expect_download() as downloaded:
        page.get_by_role("link", name="Download (Word)").click()
    download = downloaded.value
    assert download.suggested_filename.endswith(".docx")
    from docx import Document
    text = "\n".join(p.text for p in Document(io.BytesIO(open(download.path(), "rb").read())).paragraphs)
    assert account["name"] in text and "付款期限 30 天。" in text
    person.shot("contract-en")
    assert person.serious_violations() == []

    page.get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^" + re.escape("合同")))
    expect(page.get_by_role("link", name="报价", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="订单", exact=True)).to_be_visible()
    person.shot("contract-zh")
    assert not person.csp_errors, person.csp_errors


def test_another_reps_contract_and_its_document_are_not_found(suite, admin, console_for):
    owner, stranger = admin.create_user(["sales_rep"]), admin.create_user(["sales_rep"])
    client = suite.login(owner["email"], owner["password"])
    account = client.post("/api/v1/accounts", json={"name": f"Secret {uuid.uuid4().hex[:6]}"}).json()
    contract = client.post("/api/v1/contracts", json={"account_id": account["id"], "starts_on": "2027-01-01",
                                                      "ends_on": "2027-12-31", "value": "10.00", "currency": "CNY"})
    assert contract.status_code == 201, contract.text
    person = console_for()
    page = person.sign_in(stranger["email"], stranger["password"])
    page.wait_for_url("**/")
    for path in (f"/contracts/{contract.json()['id']}", f"/contracts/{contract.json()['id']}/document"):
        answer = page.request.get(person.base_url + path)
        assert answer.status == 404 and account["name"] not in answer.text()


def test_a_rep_writes_a_quote_with_live_totals_from_the_server_and_sends_it_for_approval(suite, admin, console_for):
    rep = admin.create_user(["sales_rep"], full_name="Lin Hui")
    client = suite.login(rep["email"], rep["password"])
    tag = uuid.uuid4().hex[:6]
    account = client.post("/api/v1/accounts", json={"name": f"南方电气 {tag}"}).json()
    limit = Decimal(admin.get("/api/v1/sales-settings").json()["discount_approval_percent"])
    product = admin.post("/api/v1/products", json={"name": f"Gasket {tag}", "sku": f"G-{tag}", "unit_price": "50.00",
                                                   "currency": "CNY"})
    assert product.status_code == 201, product.text

    person = console_for()
    page = person.sign_in(rep["email"], rep["password"])
    page.wait_for_url("**/")
    page.get_by_role("link", name="Quotes").click()
    page.get_by_role("link", name="New quote").click()
    page.select_option("#f-account_id", label=account["name"])
    page.fill("#f-currency", "CNY")
    page.fill("#f-tax_percent", "13")
    page.fill("#l-0-description", f"Valve {tag}")
    page.fill("#l-0-quantity", "3")
    page.fill("#l-0-unit_price", "200.00")
    # the totals come from the API (3 x 200 = 600, 13 % tax: 678.00): the draft exists and the page is its own
    expect(page.locator("#quote-totals")).to_contain_text("CN¥678.00")
    expect(page.locator("#line-total-0")).to_have_text("CN¥600.00")
    page.wait_for_url("**/quotes/*/edit")
    quote_id = page.url.rstrip("/").rsplit("/", 2)[1]
    stored = client.get(f"/api/v1/quotes/{quote_id}").json()
    assert stored["status"] == "draft" and stored["total"] == "678.00" and stored["account_id"] == account["id"]
    expect(page.get_by_role("button", name="Send quote")).to_be_visible()

    page.get_by_role("button", name="Add a line").click()
    page.fill("#l-1-description", "Install")
    page.fill("#l-1-unit_price", "100.00")
    page.fill("#l-1-discount_percent", str(limit + 10))  # over the limit: a manager approves first
    big = (Decimal(100) * (100 - limit - 10) / 100).quantize(Decimal("0.01"))
    expect(page.locator("#line-total-1")).to_have_text(f"CN¥{big:,.2f}")
    expected = ((600 + big) * Decimal("1.13")).quantize(Decimal("0.01"))
    expect(page.locator("#quote-totals")).to_contain_text(f"CN¥{expected:,.2f}")
    expect(page.locator("#quote-totals")).to_contain_text("a manager approves the quote")
    stored = client.get(f"/api/v1/quotes/{quote_id}").json()
    assert stored["needs_approval"] and len(stored["lines"]) == 2 and stored["total"] == f"{expected:.2f}"

    page.fill("#l-1-quantity", "abc")  # the API's refusal, named by the line; the draft keeps its last good state
    expect(page.locator("#quote-totals .error")).to_contain_text("Line 2")
    assert client.get(f"/api/v1/quotes/{quote_id}").json()["total"] == f"{expected:.2f}"
    page.fill("#l-1-quantity", "1")
    expect(page.locator("#quote-totals .error")).to_have_count(0)
    page.get_by_role("button", name="Add a line").click()
    page.select_option("#l-2-product_id", product.json()["id"])
    page.fill("#l-2-quantity", "4")
    expect(page.locator("#line-total-2")).to_have_text("CN¥200.00")  # the product's price, as the API priced it
    expected = ((800 + big) * Decimal("1.13")).quantize(Decimal("0.01"))
    expect(page.locator("#quote-totals")).to_contain_text(f"CN¥{expected:,.2f}")
    lines = client.get(f"/api/v1/quotes/{quote_id}").json()["lines"]
    assert lines[2]["product_id"] == product.json()["id"] and lines[2]["description"] == f"Gasket {tag}"
    person.shot("quote-editor-en")
    assert person.serious_violations() == []

    page.get_by_role("button", name="Send for approval").click()
    expect(page.locator(".flash")).to_contain_text("Sent for approval")
    expect(page.locator("#quote-state")).to_contain_text("Sent for approval on")  # the quote's page says it waits
    expect(page.locator("table.lines")).to_contain_text(f"Valve {tag}")
    assert client.get(f"/api/v1/quotes/{quote_id}").json()["status"] == "draft"  # it waits for the manager

    page.get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^" + re.escape("报价")))
    person.shot("quote-editor-zh")
    assert not person.csp_errors, person.csp_errors


def test_send_at_once_after_typing_sends_the_last_change(suite, admin, console_for):
    """Send pressed right after a keystroke carries that keystroke: before the editor's own save has gone (the
    lines typed are saved with the send), and while a save is on its way (Send waits for its new version)."""
    rep = admin.create_user(["sales_rep"])
    client = suite.login(rep["email"], rep["password"])

    def draft(tag: str) -> dict:
        made = client.post("/api/v1/quotes", json={"currency": "CNY", "lines": [
            {"description": f"Bolt {tag}", "quantity": "1", "unit_price": "10.00"}]})
        assert made.status_code == 201, made.text
        return made.json()

    person = console_for()
    page = person.sign_in(rep["email"], rep["password"])
    page.wait_for_url("**/")

    first = draft("a")
    person.go(f"/quotes/{first['id']}/edit")
    page.fill("#l-0-quantity", "3")
    page.get_by_role("button", name="Send quote").click()  # well within the 400 ms before the editor saves
    expect(page.locator(".flash")).to_contain_text("Quote sent.")
    sent = client.get(f"/api/v1/quotes/{first['id']}").json()
    assert sent["status"] == "sent" and sent["lines"][0]["quantity"] in ("3", "3.00", "3.000") \
        and sent["total"] == "30.00", sent

    second = draft("b")
    person.go(f"/quotes/{second['id']}/edit")
    held = []

    def hold(route):  # the editor's save reaches the API (a new version) but its answer comes late
        held.append((route, route.fetch()))
    page.route("**/quotes/draft", hold)
    with page.expect_request("**/quotes/draft"):
        page.fill("#l-0-quantity", "5")
    page.fill("#l-0-quantity", "7")
    page.get_by_role("button", name="Send quote").click()
    page.wait_for_timeout(300)
    assert client.get(f"/api/v1/quotes/{second['id']}").json()["status"] == "draft"  # Send waits for the save
    assert len(held) == 1
    route, answer = held[0]
    route.fulfill(response=answer)
    expect(page.locator(".flash")).to_contain_text("Quote sent.")
    sent = client.get(f"/api/v1/quotes/{second['id']}").json()
    assert sent["status"] == "sent" and sent["total"] == "70.00", sent
    assert not person.csp_errors, person.csp_errors
