"""Quotes: lines, discounts, tax, totals; approval above the discount limit; sent, rejected (accepted: orders)."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import crm_sales_contracts as c
from crm_common import scope
from crm_common.contracts.fields import MAX_MONEY
from crm_common.db import utcnow
from crm_common.errors import ServiceError, validation
from crm_sales.domain import pricing, records, settings, users
from crm_sales.models import Account, Opportunity, Product, Quote

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

PRICED = ("lines", "subtotal", "discount_total", "tax_total", "total", "needs_approval", "approved_by", "approved_at")
get = records.reader("quote", Quote)
page = records.lister("quote", Quote, c.QuoteFilters.SORTABLE)
delete = records.deleter("quote", Quote)


def quote_event(quote: Quote) -> dict:
    return {"id": quote.id, "opportunity_id": quote.opportunity_id, "account_id": quote.account_id,
            "total": str(quote.total), "currency": quote.currency, "status": quote.status, "order_id": quote.order_id}


def _lines(session, currency: str, lines: list[dict]) -> list[dict]:
    priced, errors = [], {}
    for index, item in enumerate(lines):
        product = None
        if item.get("product_id"):
            product = session.get(Product, item["product_id"])
            if product is None or product.deleted_at is not None or not product.active:
                errors[f"lines.{index}.product_id"] = ["no such active product"]
                continue
            if product.currency != currency and item.get("unit_price") is None:
                errors[f"lines.{index}.unit_price"] = [f"the product is priced in {product.currency}; give a price"]
                continue
        price = item.get("unit_price") if item.get("unit_price") is not None else (product and product.unit_price)
        if price is None:
            errors[f"lines.{index}.unit_price"] = ["a line without a product needs a unit_price"]
            continue
        description = item.get("description") or (product.name if product else None)
        if not description:
            errors[f"lines.{index}.description"] = ["a line without a product needs a description"]
            continue
        computed = pricing.line(item["quantity"], price, item.get("discount_percent") or 0)
        priced.append({"product_id": product.id if product else None, "description": description, **computed})
    if errors:
        raise validation(errors)
    return priced


def _price(session, quote: Quote, lines: list[dict]) -> None:
    priced = _lines(session, quote.currency, lines)
    sums = pricing.totals(priced, quote.tax_percent)
    if sums["subtotal"] >= MAX_MONEY:
        raise validation({"lines": ["the quote's total is too large"]})
    quote.lines = [{k: v for k, v in line.items() if k != "gross"} for line in priced]
    quote.subtotal, quote.discount_total = sums["subtotal"], sums["discount_total"]
    quote.tax_total, quote.total = sums["tax_total"], sums["total"]
    limit = settings.decimal(session, "discount_approval_percent")
    quote.needs_approval = any(Decimal(line["discount_percent"]) > limit for line in quote.lines)
    quote.approved_by = quote.approved_at = None


def create(ctx: Context, data: dict) -> Quote:
    session, actor = ctx.session, ctx.caller
    opportunity = account = None
    if data.get("opportunity_id"):
        opportunity = records.load(ctx, "opportunity", Opportunity, data["opportunity_id"], what="opportunity")
    account_id = data.get("account_id") or (opportunity.account_id if opportunity else None)
    if account_id:
        account = records.load(ctx, "account", Account, account_id, what="account")
    quote = Quote(opportunity_id=opportunity.id if opportunity else None, account_id=account.id if account else None,
                  currency=data["currency"], status="draft", tax_percent=Decimal(data.get("tax_percent") or 0),
                  valid_until=data.get("valid_until"), terms=data.get("terms"))
    quote.owner_id = (opportunity.owner_id if opportunity else None) or actor.user_id
    quote.team_id = users.team_of(session, quote.owner_id, actor)
    quote.territory_id = account.territory_id if account else None
    _price(session, quote, data["lines"])
    session.add(quote)
    session.flush()
    records.changed(ctx, "quote", quote.id, "create")
    return quote


def update(ctx: Context, record_id: str, data: dict, expected_version: int | None = None) -> Quote:
    session = ctx.session
    quote = records.load_for_update(ctx, "quote", Quote, record_id, expected_version)
    if quote.status != "draft":
        raise ServiceError("conflict", f"a {quote.status} quote cannot change; copy it into a new one")
    before = records.snapshot(quote, PRICED)
    changed = records.apply(quote, {k: v for k, v in data.items() if k != "lines"},
                            ("tax_percent", "valid_until", "terms"))
    quote.tax_percent = Decimal(quote.tax_percent)
    lines = data.get("lines")
    if lines is None:  # re-total with the stored lines (tax may have changed)
        lines = [{"product_id": x["product_id"], "description": x["description"], "quantity": x["quantity"],
                  "unit_price": x["unit_price"], "discount_percent": x["discount_percent"]} for x in quote.lines]
        keep = (quote.approved_by, quote.approved_at)
        _price(session, quote, lines)
        quote.approved_by, quote.approved_at = keep if quote.needs_approval else (None, None)
    else:
        _price(session, quote, lines)
    session.flush()
    records.changed(ctx, "quote", quote.id, "update", changed + records.changed_since(quote, before))
    return quote


def _for_action(ctx: Context, record_id: str) -> Quote:
    return records.load(ctx, "quote", Quote, record_id, "update")


def approve(ctx: Context, record_id: str) -> Quote:
    """A manager approves the discounts of a draft quote."""
    actor = ctx.caller
    quote = _for_action(ctx, record_id)
    if not scope.allows(actor, "quote", "admin", quote):
        raise ServiceError("forbidden", "a manager approves discounts above the limit")
    if quote.status != "draft":
        raise ServiceError("conflict", f"a {quote.status} quote needs no approval")
    quote.approved_by, quote.approved_at = actor.user_id, utcnow()
    records.changed(ctx, "quote", quote.id, "approve", ("approved_by", "approved_at"))
    ctx.session.flush()
    return quote


def send(ctx: Context, record_id: str) -> Quote:
    """Send a draft quote to the customer (approved first when a discount is above the limit)."""
    quote = _for_action(ctx, record_id)
    if quote.status != "draft":
        raise ServiceError("conflict", f"a {quote.status} quote cannot be sent")
    if quote.needs_approval and not quote.approved_at:
        limit = settings.decimal(ctx.session, "discount_approval_percent")
        raise ServiceError("conflict", f"a discount above {limit}% needs a manager's approval before sending",
                           extra={"needs_approval": True})
    quote.status, quote.sent_at = "sent", utcnow()
    ctx.session.flush()
    ctx.emit(c.QUOTE_SENT, quote_event(quote))
    return quote


def reject(ctx: Context, record_id: str) -> Quote:
    """The customer declined a sent quote."""
    quote = _for_action(ctx, record_id)
    if quote.status != "sent":
        raise ServiceError("conflict", f"a {quote.status} quote cannot be rejected")
    quote.status = "rejected"
    records.changed(ctx, "quote", quote.id, "update", ("status",))
    ctx.session.flush()
    return quote
