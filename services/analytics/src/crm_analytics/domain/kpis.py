"""KPIs of the CRM itself (seed 004), month by month over the period (default: the last 12 months to today):
customer satisfaction (CSAT average), customer growth (new accounts), churn rate (customers who ordered in the
month before and not in the month, over those who ordered in the month before), sales growth (won amount per
currency, and its change on the month before), marketing ROI (attributed won amount against cost of the
campaigns created in the month), service efficiency (tickets solved, median resolution hours)."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select

from crm_analytics.domain.filters import answer, bad, money, quantile, ratio, visible
from crm_analytics.domain.log import active


def months_of(data: dict) -> list[str]:
    end = data.get("to") or datetime.now(timezone.utc).date()
    start = data.get("from") or date(end.year - 1, end.month, 1) + timedelta(days=31)
    start = start.replace(day=1)
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    if len(out) > 60:
        raise bad("from", "KPIs cover at most 60 months")
    return out


def _key(value) -> str | None:
    return None if value is None else f"{value.year}-{value.month:02d}"


def kpis(ctx, data: dict) -> dict:
    for name in ("group_by", "owner_id", "team_id", "territory_id", "source", "campaign_id", "channel", "currency"):
        if data.get(name) is not None:
            raise bad(name, "KPIs take only from and to")
    months = months_of(data)
    first = datetime.combine(date.fromisoformat(months[0] + "-01"), time(), timezone.utc) - timedelta(days=31)
    conn = ctx.session
    t = active(conn)
    caller = ctx.caller
    per: dict = {m: {"month": m} for m in months}

    csat = defaultdict(list)
    for at, score in conn.execute(select(t.surveys.c.answered_at, t.surveys.c.score).where(
            t.surveys.c.kind == "csat", t.surveys.c.answered_at >= first, visible(caller, "survey", t.surveys))):
        csat[_key(at)].append(score)
    new_accounts = defaultdict(int)
    for at, in conn.execute(select(t.accounts.c.created_at).where(
            t.accounts.c.created_at >= first, visible(caller, "account", t.accounts))):
        new_accounts[_key(at)] += 1
    buyers = defaultdict(set)
    for account_id, at in conn.execute(select(t.orders.c.account_id, t.orders.c.placed_at).where(
            t.orders.c.placed_at >= first, visible(caller, "order", t.orders))):
        buyers[_key(at)].add(account_id)
    won = defaultdict(lambda: defaultdict(Decimal))
    for at, amount, currency in conn.execute(select(t.opportunities.c.closed_at, t.opportunities.c.amount,
                                                    t.opportunities.c.currency).where(
            t.opportunities.c.status == "won", t.opportunities.c.closed_at >= first,
            visible(caller, "opportunity", t.opportunities))):
        won[_key(at)][currency] += Decimal(amount or 0)
    solved = defaultdict(list)
    for created, done in conn.execute(select(t.tickets.c.created_at, t.tickets.c.solved_at).where(
            t.tickets.c.solved_at >= first, visible(caller, "ticket", t.tickets))):
        solved[_key(done)].append(max(0.0, (done - created).total_seconds() / 3600) if created else None)
    roi = _marketing(conn, t, caller, first)

    previous = _key(first)
    for m in months:
        row = per[m]
        scores = csat.get(m, [])
        row["customer_satisfaction"] = round(sum(scores) / len(scores), 2) if scores else None
        row["new_accounts"] = new_accounts.get(m, 0)
        before, now = buyers.get(previous, set()), buyers.get(m, set())
        row["active_customers"] = len(now)
        row["churn_rate"] = ratio(len(before - now), len(before))
        row["won"] = {c: money(v) for c, v in sorted(won.get(m, {}).items())}
        row["sales_growth"] = {c: ratio(v - won.get(previous, {}).get(c, 0), won.get(previous, {}).get(c, 0))
                               for c, v in sorted(won.get(m, {}).items())}
        row["marketing_roi"] = roi.get(m)
        hours = sorted(h for h in solved.get(m, []) if h is not None)
        row["tickets_solved"] = len(solved.get(m, []))
        row["median_resolution_hours"] = round(quantile(hours, 0.5), 2) if hours else None
        previous = m
    return answer("kpis", data, [per[m] for m in months], {"months": len(months)})


def _marketing(conn, t, caller, first) -> dict:
    if caller.scope("campaign", "read") == "none" or caller.scope("analytics", "read") == "none":
        return {}
    camps = {r.id: r for r in conn.execute(select(t.campaigns.c.id, t.campaigns.c.created_at, t.campaigns.c.cost)
                                           .where(t.campaigns.c.created_at >= first))}
    if not camps:
        return {}
    won = defaultdict(Decimal)
    for cid, amount in conn.execute(select(t.opportunities.c.campaign_id, t.opportunities.c.amount).where(
            t.opportunities.c.status == "won", t.opportunities.c.campaign_id.in_(list(camps)))):
        won[cid] += Decimal(amount or 0)
    month_cost, month_won = defaultdict(Decimal), defaultdict(Decimal)
    for cid, camp in camps.items():
        month_cost[_key(camp.created_at)] += Decimal(camp.cost or 0)
        month_won[_key(camp.created_at)] += won[cid]
    return {m: (str(((month_won[m] - cost) / cost).quantize(Decimal("0.0001"))) if cost else None)
            for m, cost in month_cost.items()}
