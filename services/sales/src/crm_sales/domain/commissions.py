"""Commissions: closed-won amounts of a period at each owner's rate."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select

from crm_common import scope
from crm_sales.domain import pricing, settings
from crm_sales.domain.periods import period_bounds, start_of
from crm_sales.models import Opportunity

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

ZERO = Decimal("0.00")


def commissions(ctx: Context, query: dict) -> dict:
    """Commission per owner: closed-won amount in the period times the owner's rate (or the default)."""
    session, actor = ctx.session, ctx.caller
    first, after = period_bounds(query["period"])
    currency = query.get("currency") or "EUR"
    stmt = select(Opportunity).where(
        scope.clause(actor, "commission", "read", Opportunity), Opportunity.deleted_at.is_(None),
        Opportunity.stage == "closed_won", Opportunity.currency == currency, Opportunity.closed_at >= start_of(first),
        Opportunity.closed_at < start_of(after))
    if query.get("owner_id"):
        stmt = stmt.where(Opportunity.owner_id == query["owner_id"])
    default = settings.decimal(session, "commission_rate_percent")
    rates = settings.get(session, "commission_rates") or {}
    per_owner: dict = {}
    for opp in session.execute(stmt).scalars():
        row = per_owner.setdefault(opp.owner_id, [ZERO, 0])
        row[0] += opp.amount
        row[1] += 1
    items = []
    for owner_id, (amount, deals) in sorted(per_owner.items(), key=lambda kv: kv[0] or ""):
        rate = Decimal(str(rates.get(owner_id, default)))
        items.append({"owner_id": owner_id, "closed_won": str(pricing.money(amount)), "deals": deals,
                      "rate_percent": str(rate), "commission": str(pricing.money(amount * rate / 100)),
                      "currency": currency})
    return {"period": query["period"], "items": items}
