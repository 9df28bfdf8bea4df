"""The forecast: pipeline, weighted, commit and closed won of a period against the targets."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select

from crm_common import scope
from crm_sales.domain import pricing
from crm_sales.domain.periods import period_bounds, start_of
from crm_sales.models import Opportunity, Target

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

ZERO = Decimal("0.00")

def _key(opp: Opportunity, group_by: str) -> str | None:
    return {"owner": opp.owner_id, "team": opp.team_id, "territory": opp.territory_id}[group_by]


def forecast(ctx: Context, query: dict) -> dict:
    """Pipeline, weighted and commit of open deals expected to close in the period, closed won in it,
    the targets and attainment, per owner, team or territory (within the caller's forecast scope)."""
    session, actor = ctx.session, ctx.caller
    first, after = period_bounds(query["period"])
    group_by, currency = query.get("group_by") or "owner", query.get("currency") or "EUR"
    visible = scope.clause(actor, "forecast", "read", Opportunity)
    open_deals = session.execute(select(Opportunity).where(
        visible, Opportunity.deleted_at.is_(None), Opportunity.currency == currency,
        Opportunity.stage.notin_(("closed_won", "closed_lost")), Opportunity.expected_close_date >= first,
        Opportunity.expected_close_date < after)).scalars().all()
    won = session.execute(select(Opportunity).where(
        visible, Opportunity.deleted_at.is_(None), Opportunity.currency == currency,
        Opportunity.stage == "closed_won", Opportunity.closed_at >= start_of(first),
        Opportunity.closed_at < start_of(after))).scalars().all()
    groups: dict = {}

    def figures(key):
        return groups.setdefault(key, {"key": key, "pipeline": ZERO, "weighted": ZERO, "commit": ZERO,
                                       "closed_won": ZERO, "target": None})

    for opp in open_deals:
        row = figures(_key(opp, group_by))
        row["pipeline"] += opp.amount
        row["weighted"] += opp.amount * Decimal(opp.probability) / Decimal(100)
        if opp.forecast_category == "commit":
            row["commit"] += opp.amount
    for opp in won:
        figures(_key(opp, group_by))["closed_won"] += opp.amount
    column = {"owner": Target.user_id, "team": Target.team_id, "territory": Target.territory_id}[group_by]
    targets = session.execute(select(Target).where(
        Target.period == query["period"], Target.currency == currency, Target.deleted_at.is_(None),
        column.is_not(None), scope.clause(actor, "forecast", "read", Target))).scalars().all()
    for target in targets:
        if group_by != "owner" and target.user_id:  # a team's or territory's own quota, not its members'
            continue
        row = figures(getattr(target, column.key))
        row["target"] = (row["target"] or ZERO) + target.amount
    total = {"key": None, "pipeline": ZERO, "weighted": ZERO, "commit": ZERO, "closed_won": ZERO, "target": None}
    for row in groups.values():
        for name in ("pipeline", "weighted", "commit", "closed_won"):
            total[name] += row[name]
        if row["target"] is not None:
            total["target"] = (total["target"] or ZERO) + row["target"]
    ordered = sorted(groups.values(), key=lambda r: (r["key"] is None, r["key"] or ""))
    return {"period": query["period"], "group_by": group_by, "currency": currency,
            "groups": [_format(r) for r in ordered], "totals": _format(total)}


def _format(row: dict) -> dict:
    out = {"key": row["key"]}
    for name in ("pipeline", "weighted", "commit", "closed_won"):
        out[name] = str(pricing.money(row[name]))
    target = row["target"]
    out["target"] = str(pricing.money(target)) if target is not None else None
    out["attainment"] = (str(pricing.money(row["closed_won"] * 100 / target)) if target else None)
    return out
