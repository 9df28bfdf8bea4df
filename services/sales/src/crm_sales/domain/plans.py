"""Subscription plans: a product's price per billing period (month, quarter, year), with a trial."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import crm_sales_contracts as c
from crm_common.errors import not_found, validation
from crm_common.versioning import check_version
from crm_sales.domain import records
from crm_sales.models import Plan, Product

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

page = records.lister("plan", Plan, c.PlanFilters.SORTABLE, (Plan.name,))


def get(ctx: Context, record_id: str) -> Plan:
    """A plan (the catalogue: every caller with plan.read sees every plan)."""
    plan = ctx.session.get(Plan, record_id) if record_id else None
    if plan is None or plan.deleted_at is not None:
        raise not_found("plan")
    return plan


def create(ctx: Context, data: dict) -> Plan:
    if data.get("product_id"):
        product = ctx.session.get(Product, data["product_id"])
        if product is None or product.deleted_at is not None:
            raise validation({"product_id": ["no such product"]})
    plan = Plan(**data)
    plan.price = Decimal(plan.price)
    ctx.session.add(plan)
    ctx.session.flush()
    records.changed(ctx, "plan", plan.id, "create")
    return plan


def update(ctx: Context, record_id: str, data: dict, expected_version: int | None = None) -> Plan:
    """Name, active and the reminder; price and period stay (a new price is a new plan: subscribers keep theirs)."""
    plan = get(ctx, record_id)
    check_version(plan, expected_version)
    changed = records.apply(plan, data, ("name", "active", "renewal_reminder_days"))
    ctx.session.flush()
    records.changed(ctx, "plan", plan.id, "update", changed)
    return plan


def usable(ctx: Context, plan_id: str, field: str = "plan_id") -> Plan:
    plan = ctx.session.get(Plan, plan_id)
    if plan is None or plan.deleted_at is not None or not plan.active:
        raise validation({field: ["no such active plan"]})
    return plan
