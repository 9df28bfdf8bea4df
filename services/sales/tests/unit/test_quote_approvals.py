"""A quote over the discount limit asks for approval when sent, waits (409), and goes out once
automation.approval_decided.v1 approves it; a rejection leaves it a draft."""
from __future__ import annotations

from decimal import Decimal

import pytest

import crm_sales_contracts as c
from crm_common.errors import ServiceError
from crm_common.entrypoint import Context
from crm_sales.domain import accounts, products, quote_approvals, quotes, settings


def _quote(session, who, discount):
    ctx = Context(session, who, lambda *a: None)
    product = products.create(ctx, {"name": "Widget", "sku": f"WA-{discount}", "unit_price": Decimal("100.00"),
                                    "currency": "EUR", "active": True})
    account = accounts.create(ctx, {"name": "Buyer", "street": "Main St 1", "city": "Berlin", "country": "DE"})
    return quotes.create(ctx, {"currency": "EUR", "tax_percent": "20", "account_id": account.id,
                               "lines": [{"product_id": product.id, "quantity": Decimal("2"),
                                          "discount_percent": Decimal(discount)}]})


def _send(ctx):
    """quote_approvals.send as the entrypoint runs it: the work, then the after-commit refusal."""
    def run(record_id):
        result = quote_approvals.send(ctx, record_id)
        for after in ctx._after:
            after()
        return result
    return run


def test_sending_asks_for_approval_then_the_decision_sends_it(session, team, events, ctx):
    settings.update(ctx(), {"discount_approval_percent": "10"})
    quote = _quote(session, team["r1"], discount="25")
    with pytest.raises(ServiceError) as waiting:
        _send(ctx(team["r1"]))(quote.id)
    assert waiting.value.code == "conflict" and waiting.value.extra == {"needs_approval": True,
                                                                        "approval_requested": True}
    [asked] = events.of(c.QUOTE_APPROVAL_REQUESTED)
    assert asked == {"id": quote.id, "owner_id": quote.owner_id, "max_discount_percent": "25.00",
                     "limit_percent": "10", "total": str(quote.total), "currency": "EUR"}
    assert quote.status == "draft" and events.of(c.QUOTE_SENT) == []

    quote_approvals.decided(ctx(), {"resource": "quote", "record_id": quote.id, "status": "rejected",
                                    "decided_by": team["m1"].user_id})
    assert quote.status == "draft" and quote.approved_at is None
    quote_approvals.decided(ctx(), {"resource": "quote", "record_id": quote.id, "status": "approved",
                                    "decided_by": team["m1"].user_id})
    assert quote.status == "sent" and quote.approved_by == team["m1"].user_id
    assert events.of(c.QUOTE_SENT)[0]["id"] == quote.id
    quote_approvals.decided(ctx(), {"resource": "quote", "record_id": quote.id, "status": "approved",
                                    "decided_by": "x"})  # a repeat changes nothing
    assert len(events.of(c.QUOTE_SENT)) == 1


def test_a_quote_within_the_limit_is_sent_at_once(session, team, events, ctx):
    quote = _quote(session, team["r1"], discount="1")
    assert _send(ctx(team["r1"]))(quote.id).status == "sent"
    assert events.of(c.QUOTE_APPROVAL_REQUESTED) == [] and Decimal(events.of(c.QUOTE_SENT)[0]["total"]) == quote.total
