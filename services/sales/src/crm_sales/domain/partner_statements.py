"""Profit share: what a partner earns on its won deals and its orders, at the rate of its tier and each product,
and the statement of a period (json, or an xlsx workbook).

Rates: the rate set for (tier, product), else the tier's rate for every product ("*"), else 0. A won deal (an
opportunity linked to the partner, closed won in the period) has no product: the tier's "*" rate. An order's lines
each take their product's rate. Shares are rounded half-up to cents per line. The tier is the one the partner had
when the deal was won or the order placed (shown on each line; today's tier for records older than that stamp);
the statement's `tier` is today's."""
from __future__ import annotations

import base64
import io
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select

import crm_sales_contracts as c
from crm_common.errors import validation
from crm_sales.domain import partners, records
from crm_sales.domain.periods import period_bounds, start_of
from crm_sales.models import Opportunity, Order, Product, ShareRate

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

CENT = Decimal("0.01")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def rates(session, tier: str) -> dict:
    """product_key ("*" for the tier's default) -> percent."""
    rows = session.execute(select(ShareRate.product_key, ShareRate.percent).where(
        ShareRate.tier == tier, ShareRate.deleted_at.is_(None))).all()
    return {key: Decimal(percent) for key, percent in rows}


def rate_of(table: dict, product_id: str | None) -> Decimal:
    return table.get(product_id or "*", table.get("*", Decimal("0")))


def list_rates(ctx: Context) -> dict:
    rows = ctx.session.execute(select(ShareRate).where(ShareRate.deleted_at.is_(None))
                               .order_by(ShareRate.tier, ShareRate.product_key)).scalars().all()
    return {"items": rows, "next_cursor": None}


def set_rate(ctx: Context, data: dict) -> ShareRate:
    product_id = data.get("product_id")
    if product_id and ctx.session.get(Product, product_id) is None:
        raise validation({"product_id": ["no such product"]})
    key = product_id or "*"
    rate = ctx.session.execute(select(ShareRate).where(ShareRate.tier == data["tier"],
                                                       ShareRate.product_key == key)).scalar()
    action = "update" if rate is not None else "create"
    if rate is None:
        rate = ShareRate(tier=data["tier"], product_key=key, product_id=product_id)
        ctx.session.add(rate)
    rate.percent, rate.deleted_at = Decimal(data["percent"]), None
    ctx.session.flush()
    records.changed(ctx, "partner_share_rate", rate.id, action, ["percent"] if action == "update" else ())
    return rate


def statement_lines(session, partner, first, after) -> list[dict]:
    tables: dict = {}

    def rated(tier: str | None) -> tuple[str, dict]:
        tier = tier or partner.tier
        if tier not in tables:
            tables[tier] = rates(session, tier)
        return tier, tables[tier]

    lines = []
    deals = session.execute(select(Opportunity).where(
        Opportunity.partner_id == partner.id, Opportunity.deleted_at.is_(None), Opportunity.stage == "closed_won",
        Opportunity.closed_at >= start_of(first), Opportunity.closed_at < start_of(after))
        .order_by(Opportunity.closed_at, Opportunity.id)).scalars().all()
    for opp in deals:
        tier, table = rated(opp.partner_tier)
        percent = rate_of(table, None)
        lines.append({"source": "deal", "id": opp.id, "name": opp.name, "product_id": None, "tier": tier,
                      "day": opp.closed_at.date(), "amount": Decimal(opp.amount), "percent": percent,
                      "share": _cents(Decimal(opp.amount) * percent / 100), "currency": opp.currency})
    orders = session.execute(select(Order).where(
        Order.partner_id == partner.id, Order.deleted_at.is_(None), Order.status != "cancelled",
        Order.placed_at >= start_of(first), Order.placed_at < start_of(after))
        .order_by(Order.placed_at, Order.id)).scalars().all()
    for order in orders:
        tier, table = rated(order.partner_tier)
        for line in order.lines or []:
            amount = Decimal(str(line["line_total"]))
            percent = rate_of(table, line.get("product_id"))
            lines.append({"source": "order", "id": order.id, "name": line.get("description"),
                          "product_id": line.get("product_id"), "tier": tier, "day": order.placed_at.date(),
                          "amount": amount,
                          "percent": percent, "share": _cents(amount * percent / 100), "currency": order.currency})
    return lines


def statement(ctx: Context, record_id: str, query: dict) -> dict:
    """The partner's statement of a period (2026-Q4, 2026-11 or 2026)."""
    partner = partners.load(ctx, record_id)
    first, after = period_bounds(query["period"])
    lines = statement_lines(ctx.session, partner, first, after)
    totals: dict = defaultdict(lambda: [Decimal("0.00"), Decimal("0.00")])
    for line in lines:
        totals[line["currency"]][0] += line["amount"]
        totals[line["currency"]][1] += line["share"]
    result = {"partner_id": partner.id, "partner_name": partner.name, "tier": partner.tier,
              "period": query["period"],
              "lines": [{**line, "amount": str(line["amount"]), "percent": str(line["percent"]),
                         "share": str(line["share"])} for line in lines],
              "totals": [{"currency": cur, "amount": str(_cents(a)), "share": str(_cents(s))}
                         for cur, (a, s) in sorted(totals.items())]}
    if query.get("format") == "xlsx":
        result.update(content_base64=base64.b64encode(workbook(result)).decode(), content_type=XLSX,
                      filename=f"statement-{query['period']}.xlsx")
        ctx.emit(c.RECORD_CHANGED, {"entity": "partner", "id": partner.id, "action": "export",
                                    "changed_fields": []})
    return result


def workbook(result: dict) -> bytes:
    from openpyxl import Workbook
    book = Workbook()
    sheet = book.active
    sheet.title = "Statement"
    sheet.append(["Partner", result["partner_name"]])
    sheet.append(["Tier", result["tier"]])
    sheet.append(["Period", result["period"]])
    sheet.append([])
    sheet.append(["Source", "Id", "Name", "Product", "Day", "Amount", "Percent", "Share", "Currency", "Tier"])
    for line in result["lines"]:
        sheet.append([line["source"], line["id"], line["name"], line["product_id"], line["day"],
                      Decimal(line["amount"]), Decimal(line["percent"]), Decimal(line["share"]), line["currency"],
                      line["tier"]])
    sheet.append([])
    for total in result["totals"]:
        sheet.append(["Total", None, None, None, None, Decimal(total["amount"]), None, Decimal(total["share"]),
                      total["currency"], None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
