"""Targets (quotas per user, team, territory and period), the forecast, and commissions."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from decimal import Decimal

from sqlalchemy import select

from crm_common import scope
from crm_common.context import Actor
from crm_common.errors import validation
from crm_sales import pricing, records, settings, users
from crm_sales.models import Opportunity, Target, Territory

ZERO = Decimal("0.00")


def period_bounds(period: str) -> tuple[date, date]:
    """[first day, first day after) of `2026-Q4`, `2026-11` or `2026`."""
    match = re.fullmatch(r"(\d{4})(?:-Q([1-4])|-(\d{2}))?", period or "")
    if not match:
        raise validation({"period": ["like 2026-Q4, 2026-11 or 2026"]})
    year = int(match.group(1))
    if not 1900 <= year <= 2999:
        raise validation({"period": ["a year from 1900 to 2999"]})
    if match.group(2):
        first = date(year, 3 * (int(match.group(2)) - 1) + 1, 1)
        months = 3
    elif match.group(3):
        first, months = date(year, int(match.group(3)), 1), 1
    else:
        first, months = date(year, 1, 1), 12
    month = first.month - 1 + months
    return first, date(year + month // 12, month % 12 + 1, 1)


def _at(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


# -- targets ---------------------------------------------------------------------------------------


def create_target(session, actor: Actor, data: dict, emit) -> Target:
    target = Target(period=data["period"], user_id=data.get("user_id"), team_id=data.get("team_id"),
                    territory_id=data.get("territory_id"), amount=Decimal(data["amount"]), currency=data["currency"])
    target.owner_id = target.user_id
    if target.user_id and not target.team_id:
        target.team_id = users.team_of(session, target.user_id)
    if target.territory_id and session.get(Territory, target.territory_id) is None:
        raise validation({"territory_id": ["no such territory"]})
    if not scope.allows(actor, "target", "create", target):
        raise validation({"user_id": ["you may set targets only for your own team"]})
    session.add(target)
    session.flush()
    records.changed(emit, "target", target.id, "create")
    return target


def update_target(session, actor: Actor, target_id: str, data: dict, expected_version, emit) -> Target:
    target = records.load_for_update(session, actor, "target", Target, target_id, expected_version)
    if "amount" in data:
        data["amount"] = Decimal(data["amount"])
    changed = records.apply(target, data, ("amount",))
    session.flush()
    records.changed(emit, "target", target.id, "update", changed)
    return target


def delete_target(session, actor: Actor, target_id: str, emit) -> None:
    records.delete(session, actor, "target", Target, target_id, emit)


# -- forecast ----------------------------------------------------------------------------------


def _key(opp: Opportunity, group_by: str) -> str | None:
    return {"owner": opp.owner_id, "team": opp.team_id, "territory": opp.territory_id}[group_by]


def forecast(session, actor: Actor, query: dict) -> dict:
    """Pipeline, weighted and commit of open deals expected to close in the period, closed won in it,
    the targets and attainment, per owner, team or territory (within the caller's forecast scope)."""
    first, after = period_bounds(query["period"])
    group_by, currency = query.get("group_by") or "owner", query.get("currency") or "EUR"
    visible = scope.clause(actor, "forecast", "read", Opportunity)
    open_deals = session.execute(select(Opportunity).where(
        visible, Opportunity.deleted_at.is_(None), Opportunity.currency == currency,
        Opportunity.stage.notin_(("closed_won", "closed_lost")), Opportunity.expected_close_date >= first,
        Opportunity.expected_close_date < after)).scalars().all()
    won = session.execute(select(Opportunity).where(
        visible, Opportunity.deleted_at.is_(None), Opportunity.currency == currency,
        Opportunity.stage == "closed_won", Opportunity.closed_at >= _at(first),
        Opportunity.closed_at < _at(after))).scalars().all()
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


# -- commissions -------------------------------------------------------------------------------


def commissions(session, actor: Actor, query: dict) -> dict:
    """Commission per owner: closed-won amount in the period times the owner's rate (or the default)."""
    first, after = period_bounds(query["period"])
    currency = query.get("currency") or "EUR"
    stmt = select(Opportunity).where(
        scope.clause(actor, "commission", "read", Opportunity), Opportunity.deleted_at.is_(None),
        Opportunity.stage == "closed_won", Opportunity.currency == currency, Opportunity.closed_at >= _at(first),
        Opportunity.closed_at < _at(after))
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


