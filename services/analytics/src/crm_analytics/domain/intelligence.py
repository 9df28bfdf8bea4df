"""Customer intelligence per account from its orders, complaints and surveys: RFM scores and segments, the
customer's lifetime value (HISTORIC: value to date and its yearly run rate; no BG/NBD model is fitted), churn
risk with the reasons behind each score, and retention cohorts by first-order month.

The as-of day is the query's `to` (default: today, UTC); orders counted are those placed up to it and not
cancelled. Accounts are those the caller may read (account scope, and analytics scope)."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import and_, select

from crm_analytics.domain.filters import answer, bad, money, ratio, visible
from crm_analytics.domain.log import active

CANCELLED = ("cancelled", "canceled", "returned")
INACTIVE_DAYS = 90


def _as_of(data: dict) -> datetime:
    day = data.get("to") or datetime.now(timezone.utc).date()
    return datetime.combine(day + timedelta(days=1), time(), timezone.utc)


def _orders(ctx, data: dict) -> tuple[dict, dict, datetime]:
    """({account_id: [(placed_at, total, currency)]}, {account_id: name}, as_of) over the caller's accounts."""
    for name in ("group_by", "source", "campaign_id", "channel", "team_id"):
        if data.get(name) is not None:
            raise bad(name, "customer intelligence is per account: filter by owner_id, territory_id or currency")
    conn = ctx.session
    t = active(conn)
    a, o = t.accounts, t.orders
    as_of = _as_of(data)
    where = [visible(ctx.caller, "account", a), o.c.placed_at < as_of, o.c.status.notin_(CANCELLED)]
    if data.get("from") is not None:
        where.append(o.c.placed_at >= datetime.combine(data["from"], time(), timezone.utc))
    for name in ("owner_id", "territory_id"):
        if data.get(name) is not None:
            where.append(a.c[name] == data[name])
    if data.get("currency") is not None:
        where.append(o.c.currency == data["currency"])
    rows = conn.execute(select(a.c.id, a.c.name, o.c.placed_at, o.c.total, o.c.currency)
                        .select_from(a.join(o, o.c.account_id == a.c.id)).where(and_(*where))).all()
    orders: dict = defaultdict(list)
    names = {}
    for account_id, name, placed, total, currency in rows:
        orders[account_id].append((placed, Decimal(total or 0), currency))
        names[account_id] = name
    return orders, names, as_of


def _quintile(values: dict, higher_is_better: bool = True) -> dict:
    """A 1-5 score per key by rank spread over 1..5 (5: the best; equal values score alike)."""
    distinct = sorted(set(values.values()), reverse=not higher_is_better)
    n = len(distinct)
    rank = {v: (3 if n == 1 else 1 + round(i * 4 / (n - 1))) for i, v in enumerate(distinct)}
    return {k: rank[v] for k, v in values.items()}


def segment(r: int, f: int, m: int) -> str:
    if r >= 4 and f >= 4:
        return "champions"
    if r >= 3 and f >= 3:
        return "loyal"
    if r >= 4 and f <= 2:
        return "new" if f == 1 else "promising"
    if r <= 2 and f >= 3:
        return "at_risk"
    if r == 1 and f <= 2:
        return "lost"
    return "needs_attention"


def rfm(ctx, data: dict) -> dict:
    orders, names, as_of = _orders(ctx, data)
    recency = {k: (as_of - max(p for p, _, _ in v)).days for k, v in orders.items()}
    frequency = {k: len(v) for k, v in orders.items()}
    monetary = {k: sum(t for _, t, _ in v) for k, v in orders.items()}
    r, f, m = _quintile(recency, higher_is_better=False), _quintile(frequency), _quintile(monetary)
    items = [{"account_id": k, "name": names[k], "recency_days": recency[k], "frequency": frequency[k],
              "monetary": money(monetary[k]), "currencies": sorted({c for _, _, c in orders[k] if c}),
              "r": r[k], "f": f[k], "m": m[k], "score": f"{r[k]}{f[k]}{m[k]}", "segment": segment(r[k], f[k], m[k])}
             for k in sorted(orders, key=lambda k: (-(r[k] + f[k] + m[k]), k))]
    counts: dict = defaultdict(int)
    for item in items:
        counts[item["segment"]] += 1
    return answer("rfm", data, items, {"accounts": len(items), "segments": dict(sorted(counts.items()))},
                  as_of_day=(as_of - timedelta(days=1)).date().isoformat())


def clv(ctx, data: dict) -> dict:
    """Historic lifetime value: value to date, orders, average order, months as a customer and the yearly run
    rate (value per month since the first order x 12)."""
    orders, names, as_of = _orders(ctx, data)
    items = []
    for k, v in orders.items():
        first = min(p for p, _, _ in v)
        months = max(1.0, (as_of - first).days / 30.44)
        value = sum(t for _, t, _ in v)
        items.append({"account_id": k, "name": names[k], "method": "historic", "value_to_date": money(value),
                      "orders": len(v), "average_order": money(value / len(v)), "months": round(months, 1),
                      "yearly_run_rate": money(value / Decimal(str(months)) * 12),
                      "first_order_at": first, "currencies": sorted({c for _, _, c in v if c})})
    items.sort(key=lambda i: -Decimal(i["value_to_date"]))
    total = sum((Decimal(i["value_to_date"]) for i in items), Decimal(0))
    return answer("clv", data, items, {"accounts": len(items), "value_to_date": money(total), "method": "historic",
                                       "average_value": money(total / len(items)) if items else None})


def churn_risk(ctx, data: dict) -> dict:
    """A 0-100 risk per account with its reasons: inactivity (no order for 90 days: +40), falling orders (fewer
    in the last 90 days than in the 90 before: +20), open complaints (+15 each, at most 30), low survey scores
    (CSAT average below 3 or an NPS detractor: +20)."""
    orders, names, as_of = _orders(ctx, data)
    conn = ctx.session
    t = active(conn)
    complaints: dict = defaultdict(int)
    for account_id, in conn.execute(select(t.complaints.c.account_id).where(
            t.complaints.c.resolved_at.is_(None), t.complaints.c.account_id.in_(list(orders)))):
        complaints[account_id] += 1
    surveys: dict = defaultdict(list)
    for account_id, kind, score in conn.execute(select(t.surveys.c.account_id, t.surveys.c.kind, t.surveys.c.score)
                                                .where(t.surveys.c.account_id.in_(list(orders)))):
        surveys[account_id].append((kind, score))
    recent, before = as_of - timedelta(days=INACTIVE_DAYS), as_of - timedelta(days=2 * INACTIVE_DAYS)
    items = []
    for k, v in orders.items():
        score, reasons = 0, []
        idle = (as_of - max(p for p, _, _ in v)).days
        if idle > INACTIVE_DAYS:
            score += 40
            reasons.append({"reason": "inactivity", "detail": f"no order for {idle} days", "points": 40})
        last, prior = sum(1 for p, _, _ in v if p >= recent), sum(1 for p, _, _ in v if before <= p < recent)
        if last < prior:
            score += 20
            reasons.append({"reason": "falling_orders", "detail": f"{last} orders in the last 90 days, {prior} before",
                            "points": 20})
        if complaints[k]:
            points = min(30, 15 * complaints[k])
            score += points
            reasons.append({"reason": "open_complaints", "detail": f"{complaints[k]} open", "points": points})
        csat = [s for kind, s in surveys[k] if kind == "csat" and s is not None]
        nps = [s for kind, s in surveys[k] if kind == "nps" and s is not None]
        if (csat and sum(csat) / len(csat) < 3) or any(s <= 6 for s in nps):
            score += 20
            reasons.append({"reason": "low_survey_scores", "detail": f"CSAT {csat}, NPS {nps}", "points": 20})
        items.append({"account_id": k, "name": names[k], "risk": min(100, score), "reasons": reasons,
                      "level": "high" if score >= 60 else "medium" if score >= 30 else "low"})
    items.sort(key=lambda i: (-i["risk"], i["account_id"]))
    levels: dict = defaultdict(int)
    for item in items:
        levels[item["level"]] += 1
    return answer("churn_risk", data, items, {"accounts": len(items), "levels": dict(levels)})


def cohorts(ctx, data: dict) -> dict:
    """Accounts by the month of their first order, and the share of them ordering again in each month after."""
    orders, _, as_of = _orders(ctx, data)
    months: dict = {}
    for k, v in orders.items():
        seen = sorted({(p.year, p.month) for p, _, _ in v})
        months[k] = seen
    cohort: dict = defaultdict(lambda: {"accounts": 0, "active": defaultdict(int)})
    for k, seen in months.items():
        first = seen[0]
        entry = cohort[first]
        entry["accounts"] += 1
        for y, m in seen:
            entry["active"][(y - first[0]) * 12 + (m - first[1])] += 1
    items = []
    for (y, m), entry in sorted(cohort.items()):
        top = max(entry["active"])
        items.append({"key": f"{y}-{m:02d}", "accounts": entry["accounts"],
                      "retention": [ratio(entry["active"].get(i, 0), entry["accounts"]) for i in range(top + 1)]})
    return answer("cohorts", data, items, {"accounts": len(months)})
