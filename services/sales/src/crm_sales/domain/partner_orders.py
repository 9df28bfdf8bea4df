"""Partner orders: a partner buys products at list price (partner users for their own partner); the order is an
ordinary sales order of the partner's account, linked to the partner, and counts in its statement."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select

import crm_sales_contracts as c
from crm_common.db import utcnow
from crm_common.errors import ServiceError, validation
from crm_sales.domain import partners, pricing
from crm_sales.domain.orders import order_event
from crm_sales.models import Order, Partner, Product

if TYPE_CHECKING:
    from crm_common.entrypoint import Context


def orders(ctx: Context, record_id: str) -> dict:
    partner = partners.load(ctx, record_id)
    rows = ctx.session.execute(select(Order).where(Order.partner_id == partner.id, Order.deleted_at.is_(None))
                               .order_by(Order.placed_at.desc(), Order.id).limit(200)).scalars().all()
    return {"items": rows, "next_cursor": None}


def place(ctx: Context, record_id: str, data: dict) -> Order:
    partner: Partner = partners.load(ctx, record_id)
    actor = ctx.caller
    if not (actor.scope("partner", "update") == "all" or (actor.partner_id and actor.partner_id == partner.id)):
        raise ServiceError("forbidden", "orders are placed by the partner's users and channel managers")
    if not partner.active:
        raise ServiceError("conflict", "this partner is inactive")
    lines, errors = [], {}
    for index, line in enumerate(data["lines"]):
        product = ctx.session.get(Product, line["product_id"])
        if product is None or product.deleted_at is not None or not product.active:
            errors[f"lines.{index}.product_id"] = ["no such active product"]
            continue
        if product.currency != data["currency"]:
            errors[f"lines.{index}.product_id"] = [f"priced in {product.currency}, not {data['currency']}"]
            continue
        priced = pricing.line(line["quantity"], product.unit_price, "0")
        priced.pop("gross")
        lines.append({"product_id": product.id, "description": product.name, **priced})
    if errors:
        raise validation(errors)
    total = sum((Decimal(line["line_total"]) for line in lines), Decimal("0.00"))
    order = Order(account_id=partner.account_id, partner_id=partner.id, status="placed", total=pricing.money(total),
                  currency=data["currency"], lines=lines, placed_at=utcnow(), owner_id=partner.owner_id,
                  territory_id=partner.territory_id, partner_tier=partner.tier)
    ctx.session.add(order)
    ctx.session.flush()
    ctx.emit(c.ORDER_PLACED, order_event(order))
    return order
