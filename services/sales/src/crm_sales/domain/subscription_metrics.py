"""Recurring revenue figures of a month from the subscriptions' MRR movements: MRR and ARR at the month's end,
new, expansion, contraction and churned MRR in the month, and net revenue retention.

NRR = MRR at the month's end of the accounts that had MRR at its start / their MRR at its start (new customers
do not count; their growth, shrinking and churn do)."""
from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select

from crm_common import scope
from crm_sales.domain.periods import period_bounds
from crm_sales.models import SubscriptionMovement

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

ZERO = Decimal("0.00")


def metrics(ctx: Context, query: dict) -> dict:
    first, after = period_bounds(query["month"])
    currency = query.get("currency") or "EUR"
    m = SubscriptionMovement
    rows = ctx.session.execute(
        select(m.account_id, m.kind, m.effective_on, m.mrr_before, m.mrr_after)
        .where(scope.clause(ctx.caller, "subscription", "read", m), m.currency == currency, m.effective_on < after)
    ).all()
    return figures(rows, first, query["month"], currency)


def figures(rows, first, month: str, currency: str) -> dict:
    """The figures of rows (account_id, kind, effective_on, mrr_before, mrr_after) up to the month's end."""
    start: dict = defaultdict(lambda: ZERO)
    end: dict = defaultdict(lambda: ZERO)
    moved = {"new": ZERO, "expansion": ZERO, "contraction": ZERO, "churn": ZERO, "reactivation": ZERO}
    for account_id, kind, effective_on, before, after in rows:
        delta = Decimal(after) - Decimal(before)
        end[account_id] += delta
        if effective_on < first:
            start[account_id] += delta
        elif kind in moved:
            moved[kind] += delta
    mrr = sum(end.values(), ZERO)
    starting = sum(start.values(), ZERO)
    kept = sum((end[a] for a, value in start.items() if value > 0), ZERO)
    retained = sum((value for value in start.values() if value > 0), ZERO)
    nrr = str((kept / retained).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)) if retained > 0 else None
    return {"month": month, "currency": currency, "mrr": str(mrr), "arr": str(mrr * 12), "new": str(moved["new"]),
            "expansion": str(moved["expansion"]), "contraction": str(-moved["contraction"]),
            "churned": str(-moved["churn"]), "reactivation": str(moved["reactivation"]), "starting_mrr": str(starting),
            "nrr": nrr}
