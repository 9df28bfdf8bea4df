from __future__ import annotations

import base64
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest

from crm_common.entrypoint import Context
from crm_common.errors import ServiceError
import crm_sales_contracts as c
from crm_sales.domain import accounts, opportunities, orders, pricing, products, quotes, sales_contracts, settings
from crm_sales.models import Activity, Quote


def test_line_and_total_arithmetic_is_exact():
    one = pricing.line("3", "19.99", "12.5")  # 59.97 gross, 7.49625 -> 7.50 discount
    assert (one["discount_amount"], one["line_total"]) == ("7.50", "52.47")
    two = pricing.line("0.333", "0.10", "0")  # 0.0333 -> 0.03
    assert two["line_total"] == "0.03"
    sums = pricing.totals([one, two], "19")
    assert sums == {"subtotal": Decimal("60.00"), "discount_total": Decimal("7.50"),
                    "tax_total": Decimal("9.98"), "total": Decimal("62.48")}  # 52.50 x 19% = 9.975 -> 9.98


def _quote(session, who, discount="5", **extra):
    ctx = Context(session, who, lambda *a: None)
    product = products.create(ctx, {"name": "Widget", "sku": f"W-{discount}-{len(extra)}",
                                    "unit_price": Decimal("100.00"), "currency": "EUR", "active": True})
    account = accounts.create(ctx, {"name": "Buyer", "street": "Main St 1", "city": "Berlin", "country": "DE"})
    return quotes.create(ctx, {"currency": "EUR", "tax_percent": "20", "account_id": account.id,
                               "lines": [{"product_id": product.id, "quantity": Decimal("2"),
                                          "discount_percent": Decimal(discount)},
                                         {"description": "Setup", "quantity": Decimal("1"),
                                          "unit_price": Decimal("50.00"), "discount_percent": 0}], **extra})


def test_quote_totals_and_product_defaults(session, team, events):
    quote = _quote(session, team["r1"])
    assert quote.lines[0]["description"] == "Widget" and quote.lines[0]["unit_price"] == "100.00"
    assert (quote.subtotal, quote.discount_total, quote.tax_total, quote.total) == (
        Decimal("250.00"), Decimal("10.00"), Decimal("48.00"), Decimal("288.00"))
    assert quote.needs_approval is False


def test_big_discount_needs_a_managers_approval_before_sending(session, team, events, ctx):
    settings.update(ctx(), {"discount_approval_percent": "10"})
    quote = _quote(session, team["r1"], discount="25")
    assert quote.needs_approval is True
    with pytest.raises(ServiceError) as blocked:
        quotes.send(ctx(team["r1"]), quote.id)
    assert blocked.value.code == "conflict" and events.of(c.QUOTE_SENT) == []
    with pytest.raises(ServiceError) as rep_cannot:
        quotes.approve(ctx(team["r1"]), quote.id)
    assert rep_cannot.value.code == "forbidden"
    quotes.approve(ctx(team["m1"]), quote.id)
    sent = quotes.send(ctx(team["r1"]), quote.id)
    assert sent.status == "sent" and events.of(c.QUOTE_SENT)[0]["total"] == str(sent.total)
    with pytest.raises(ServiceError):  # a sent quote is frozen
        quotes.update(ctx(team["r1"]), quote.id, {"tax_percent": Decimal("0")})


def test_accepting_places_an_order_once_and_orders_follow_their_flow(session, team, events, ctx):
    quote = _quote(session, team["r1"])
    with pytest.raises(ServiceError):
        orders.accept(ctx(team["r1"]), quote.id)  # not sent yet
    quotes.send(ctx(team["r1"]), quote.id)
    order = orders.accept(ctx(team["r1"]), quote.id)
    assert (order.status, order.total, order.owner_id) == ("placed", Decimal("288.00"), "r1")
    assert session.get(Quote, quote.id).order_id == order.id
    account = accounts.records.load(ctx(team["r1"]), "account", accounts.Account, order.account_id)
    assert (account.order_count, account.lifecycle_stage) == (1, "first_purchase")
    with pytest.raises(ServiceError) as twice:
        orders.accept(ctx(team["r1"]), quote.id)
    assert twice.value.code == "conflict"
    orders.update(ctx(team["r1"]), order.id, {"status": "confirmed"})
    with pytest.raises(ServiceError):
        orders.update(ctx(team["r1"]), order.id, {"status": "delivered"})
    orders.update(ctx(team["r1"]), order.id, {"status": "cancelled"})
    assert (account.total_value, account.lifecycle_stage) == (Decimal("0.00"), "prospect")
    assert [e["status"] for e in events.of(c.ORDER_STATUS_CHANGED)] == ["confirmed", "cancelled"]


def test_contract_from_order_signs_reminds_and_renders_a_docx(session, team, events, ctx):
    from docx import Document
    quote = _quote(session, team["r1"], terms="Net 30.")
    quotes.send(ctx(team["r1"]), quote.id)
    order = orders.accept(ctx(team["r1"]), quote.id)
    today = date.today()
    contract = sales_contracts.create(ctx(team["r1"]), {"order_id": order.id, "starts_on": today,
                                                        "ends_on": today + timedelta(days=100),
                                                        "terms": "Delivery within 10 days.\n\nNet 30.",
                                                        "renewal_notice_days": 30})
    assert (contract.value, contract.currency, contract.status) == (Decimal("288.00"), "EUR", "draft")
    sales_contracts.update(ctx(team["r1"]), contract.id, {"status": "signed"})
    assert contract.status == "active" and events.of(c.CONTRACT_SIGNED)[0]["status"] == "active"
    assert sales_contracts.run_lifecycle(ctx(), today=today)["reminded"] == 0
    counts = sales_contracts.run_lifecycle(ctx(), today=today + timedelta(days=70))
    assert counts["reminded"] == 1
    reminder = session.get(Activity, contract.reminder_activity_id)
    assert reminder.type == "task" and reminder.owner_id == "r1" and reminder.due_at.date() == today + timedelta(70)
    assert sales_contracts.run_lifecycle(ctx(), today=today + timedelta(days=71))["reminded"] == 0
    assert len(events.of(c.CONTRACT_EXPIRING)) == 1
    assert sales_contracts.run_lifecycle(ctx(), today=today + timedelta(days=101))["expired"] == 1

    document = sales_contracts.document(ctx(team["r1"]), contract.id)
    assert document["content_type"] == sales_contracts.DOCX
    doc = Document(io.BytesIO(base64.b64decode(document["content_base64"])))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Customer: Buyer, Main St 1, Berlin, DE" in text and "288.00 EUR" in text and "Net 30." in text
    cells = [cell.text for row in doc.tables[0].rows for cell in row.cells]
    assert "Widget" in cells and "Setup" in cells
    with pytest.raises(ServiceError) as hidden:
        sales_contracts.document(ctx(team["r3"]), contract.id)
    assert hidden.value.code == "not_found"


def test_contract_from_an_opportunity_takes_its_value_and_account(session, team, events, ctx):
    from crm_sales.domain import opportunities
    account = accounts.create(ctx(team["r1"]), {"name": "Deal Co"})
    opp = opportunities.create(ctx(team["r1"]), {"name": "Renewal", "amount": "9000.00", "currency": "USD",
                                                 "account_id": account.id})
    today = date.today()
    contract = sales_contracts.create(ctx(team["r1"]), {"opportunity_id": opp.id, "starts_on": today + timedelta(5),
                                                        "ends_on": today + timedelta(370)})
    assert (contract.account_id, contract.value, contract.currency) == (account.id, Decimal("9000.00"), "USD")
    sales_contracts.update(ctx(team["r1"]), contract.id, {"status": "signed"})
    assert contract.status == "signed"  # starts in five days
    assert sales_contracts.run_lifecycle(ctx(), today=today + timedelta(5))["activated"] == 1
    with pytest.raises(ServiceError) as back:
        sales_contracts.update(ctx(team["r1"]), contract.id, {"status": "draft"})
    assert back.value.code == "conflict"
