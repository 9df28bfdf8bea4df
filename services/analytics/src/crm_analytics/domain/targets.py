"""The forecast's targets, from sales' target events (`sales.target_set.v1`, the `targets` read model): the
targets whose period (a year, quarter or month) lies within the query's from/to, of the kind of holder the
forecast groups by (team targets by team, territory targets by territory, else the users'), over the caller's
read scope of targets. Each group gets its target and attainment (closed won / target, in percent), per
currency; so do the totals."""
from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from crm_analytics.domain.filters import money, visible
from crm_analytics.domain.log import active

HOLDER = {"team": "team_id", "territory": "territory_id"}  # else the user's (owner_id)


def span(period: str) -> tuple[date, date] | None:
    """First and last day of a period `2026`, `2026-Q4` or `2026-11` (None when it is none of them)."""
    try:
        year = int(period[:4])
        if len(period) == 4:
            return date(year, 1, 1), date(year, 12, 31)
        if period[5] == "Q":
            first = 3 * int(period[6]) - 2
            return date(year, first, 1), date(year, first + 2, calendar.monthrange(year, first + 2)[1])
        m = int(period[5:7])
        return date(year, m, 1), date(year, m, calendar.monthrange(year, m)[1])
    except (ValueError, IndexError):
        return None


def _attainment(won: Decimal, target: Decimal):
    return str((won * 100 / target).quantize(Decimal("0.1"))) if target else None


def attach(ctx, data: dict, items: list, totals: dict) -> None:
    """Add `target` and `attainment` to the forecast's items and totals (nothing when no target applies)."""
    conn = ctx.session
    t = active(conn).targets
    group = data.get("group_by")
    holder = HOLDER.get(group, "owner_id")
    query = select(t.c.period, t.c[holder], t.c.amount, t.c.currency).where(
        visible(ctx.caller, "target", t), t.c[holder].is_not(None))
    for name in ("owner_id", "team_id", "territory_id", "currency"):
        if data.get(name):
            query = query.where(t.c[name] == data[name])
    sums: dict = defaultdict(Decimal)  # (group key, currency) -> target
    for period, who, amount, currency in conn.execute(query):
        bounds = span(period or "")
        if bounds is None or (data.get("from") and bounds[0] < data["from"]) or (
                data.get("to") and bounds[1] > data["to"]):
            continue
        if group == "month" and len(period) != 7:
            continue  # by month: the monthly targets only
        key = period if group == "month" else who if group in ("owner", "team", "territory") else None
        sums[(key, currency)] += Decimal(amount or 0)
    if not sums:
        return
    for item in items:
        target = sums.get((item["key"], item.get("currency")))
        if target is not None:
            item["target"], item["attainment"] = money(target), _attainment(Decimal(item["closed_won"]), target)
    per_currency: dict = defaultdict(Decimal)
    for (_, currency), amount in sums.items():
        per_currency[currency] += amount
    for entry in totals["by_currency"]:
        target = per_currency.get(entry["currency"])
        if target is not None:
            entry["target"], entry["attainment"] = money(target), _attainment(Decimal(entry["closed_won"]), target)
    if len(per_currency) == 1:
        (currency, target), = per_currency.items()
        won = sum((Decimal(e["closed_won"]) for e in totals["by_currency"] if e["currency"] == currency), Decimal(0))
        totals["target"], totals["attainment"] = money(target), _attainment(won, target)
