"""Orders: placed when a customer accepts a sent quote; their status flow; the account's value follows."""
from __future__ import annotations

from typing import TYPE_CHECKING

import crm_sales_contracts as c
from crm_common.contracts.fields import MAX_MONEY
from crm_common.db import utcnow
from crm_common.errors import ServiceError, forbidden, validation
from crm_sales.domain import accounts, pricing, records, users
from crm_sales.domain.quotes import _lines as priced_lines  # an order's lines are priced as a quote's
from crm_sales.domain.quotes import quote_event
from crm_sales.models import Account, Order, Quote

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

# order status -> statuses it may move to
ORDER_FLOW = {"placed": ("confirmed", "cancelled"), "confirmed": ("shipped", "cancelled"), "shipped": ("delivered",),
              "delivered": (), "cancelled": ()}
get = records.reader("order", Order)
page = records.lister("order", Order, c.OrderFilters.SORTABLE)


def order_event(order: Order, previous: str | None = None) -> dict:
    return {"id": order.id, "quote_id": order.quote_id, "account_id": order.account_id, "status": order.status,
            "previous_status": previous, "total": str(order.total), "currency": order.currency,
            "product_ids": sorted({line["product_id"] for line in order.lines or [] if line.get("product_id")})}


def accept(ctx: Context, record_id: str) -> Order:
    """The customer accepted the (sent) quote `record_id`: it becomes an order; the account's value, grade and
    lifecycle follow."""
    session = ctx.session
    quote = records.load(ctx, "quote", Quote, record_id, "update")
    if quote.status != "sent":
        raise ServiceError("conflict", "only a sent quote can be accepted" if quote.status != "accepted"
                           else "this quote is accepted already", extra={"order_id": quote.order_id})
    now = utcnow()
    order = Order(quote_id=quote.id, account_id=quote.account_id, opportunity_id=quote.opportunity_id,
                  status="placed", total=quote.total, currency=quote.currency, lines=quote.lines, placed_at=now,
                  owner_id=quote.owner_id, team_id=quote.team_id, territory_id=quote.territory_id)
    session.add(order)
    session.flush()
    quote.status, quote.accepted_at, quote.order_id = "accepted", now, order.id
    session.flush()
    ctx.emit(c.QUOTE_ACCEPTED, quote_event(quote))
    ctx.emit(c.ORDER_PLACED, order_event(order))
    if order.account_id:
        accounts.apply_order(ctx, session.get(Account, order.account_id), order.total, now)
    return order


def create(ctx: Context, data: dict) -> Order:
    """An order another system placed (its upsert by external id): its lines priced as a quote's, of an account
    the caller may read (owner and territory the account's; else the caller's); the account's value follows
    unless it comes cancelled."""
    session, actor = ctx.session, ctx.caller
    if actor.partner_id:
        raise forbidden("a partner's users place orders through their partner (POST /api/v1/partners/{id}/orders)")
    account = records.load(ctx, "account", Account, data["account_id"], what="account") \
        if data.get("account_id") else None
    lines = priced_lines(session, data["currency"], data["lines"])
    sums = pricing.totals(lines, data.get("tax_percent") or 0)
    if sums["subtotal"] >= MAX_MONEY:
        raise validation({"lines": ["the order's total is too large"]})
    owner_id = (account.owner_id if account else None) or actor.user_id
    order = Order(account_id=account.id if account else None, status=data.get("status") or "placed",
                  total=sums["total"], currency=data["currency"], placed_at=data.get("placed_at") or utcnow(),
                  lines=[{k: v for k, v in line.items() if k != "gross"} for line in lines], owner_id=owner_id,
                  team_id=users.team_of(session, owner_id, actor), territory_id=account.territory_id if account else None)
    session.add(order)
    session.flush()
    ctx.emit(c.ORDER_PLACED, order_event(order))
    if account is not None and order.status != "cancelled":
        latest = max(filter(None, (order.placed_at, account.last_order_at)))  # an old order moves nothing back
        accounts.apply_order(ctx, account, order.total, latest)
    return order


def update(ctx: Context, record_id: str, data: dict, expected_version: int | None = None) -> Order:
    """An order's status moves along its flow (placed, confirmed, shipped, delivered; or cancelled); no status
    (an upsert's update of a linked order without one) changes nothing."""
    session = ctx.session
    order = records.load_for_update(ctx, "order", Order, record_id, expected_version)
    new = data.get("status", order.status)
    if new == order.status:
        return order
    if new not in ORDER_FLOW[order.status]:
        raise ServiceError("conflict", f"a {order.status} order cannot become {new}",
                           extra={"allowed": list(ORDER_FLOW[order.status])})
    previous, order.status = order.status, new
    session.flush()
    ctx.emit(c.ORDER_STATUS_CHANGED, order_event(order, previous))
    if new == "cancelled" and order.account_id:
        accounts.apply_order(ctx, session.get(Account, order.account_id), -order.total)
    return order
