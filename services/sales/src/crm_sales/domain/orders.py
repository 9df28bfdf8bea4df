"""Orders: placed when a customer accepts a sent quote; their status flow; the account's value follows."""
from __future__ import annotations

from typing import TYPE_CHECKING

import crm_sales_contracts as c
from crm_common.db import utcnow
from crm_common.errors import ServiceError
from crm_sales.domain import accounts, records
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


def update(ctx: Context, record_id: str, data: dict, expected_version: int | None = None) -> Order:
    """An order's status moves along its flow (placed, confirmed, shipped, delivered; or cancelled)."""
    session = ctx.session
    order = records.load_for_update(ctx, "order", Order, record_id, expected_version)
    new = data["status"]
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
