"""Recurring revenue from sales' subscription events (issue 19), month by month over the period (default: the
last 12 months): MRR and ARR at the month's end, the MRR that moved in it (new, with reactivations;
expansion; contraction and churned, the MRR lost), net new MRR, net revenue retention (the month's starting MRR
with its expansion, contraction and churn, over that starting MRR), and the subscriptions paying at the month's
end; per currency. Totals: as the subscriptions stand now. Over the caller's read scope of subscriptions."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from crm_analytics.domain.filters import answer, bad, money, visible
from crm_analytics.domain.kpis import months_of
from crm_analytics.domain.log import active

PAYING = ("active", "past_due")
KINDS = {"new": "new", "reactivation": "new", "expansion": "expansion", "contraction": "contraction",
         "churn": "churned"}
LOSSES = ("contraction", "churned")  # counted as the MRR lost (positive), as sales' own metrics do


def _month_end(month: str) -> date:
    first = date.fromisoformat(month + "-01")
    return (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def subscriptions(ctx, data: dict) -> dict:
    for name in ("group_by", "team_id", "territory_id", "source", "campaign_id", "channel"):
        if data.get(name) is not None:
            raise bad(name, "subscriptions take from, to, owner_id and currency")
    months = months_of(data)
    conn, caller = ctx.session, ctx.caller
    t = active(conn)
    m = t.mrr_movements
    query = select(m.c.subscription_id, m.c.movement, m.c.currency, m.c.mrr_before, m.c.mrr_after,
                   m.c.effective_on).where(visible(caller, "subscription", m),
                                           m.c.effective_on <= _month_end(months[-1]))
    for name in ("owner_id", "currency"):
        if data.get(name):
            query = query.where(m.c[name] == data[name])
    moves = conn.execute(query.order_by(m.c.effective_on, m.c.occurred_at, m.c.event_id)).all()
    items, i = [], 0
    last: dict = {}  # subscription -> (currency, MRR after its last change so far)
    currencies = sorted({row.currency for row in moves if row.currency})
    for month in months:
        end, start_mrr = _month_end(month), defaultdict(Decimal)
        for currency, mrr in last.values():
            start_mrr[currency] += mrr
        moved = defaultdict(lambda: defaultdict(Decimal))
        while i < len(moves) and moves[i].effective_on <= end:
            row = moves[i]
            i += 1
            after, before = Decimal(row.mrr_after or 0), Decimal(row.mrr_before or 0)
            if row.effective_on.strftime("%Y-%m") == month and row.movement in KINDS:
                kind = KINDS[row.movement]
                moved[row.currency][kind] += (before - after) if kind in LOSSES else (after - before)
            last[row.subscription_id] = (row.currency, after)
        for currency in currencies:
            mrr = sum((v for c, v in last.values() if c == currency), Decimal(0))
            flows = moved[currency]
            start = start_mrr[currency]
            kept = start + flows["expansion"] - flows["contraction"] - flows["churned"]
            items.append({"key": f"{month} {currency}", "month": month, "currency": currency, "mrr": money(mrr),
                          "arr": money(mrr * 12), "new": money(flows["new"]), "expansion": money(flows["expansion"]),
                          "contraction": money(flows["contraction"]), "churned": money(flows["churned"]),
                          "net_new": money(flows["new"] + flows["expansion"] - flows["contraction"] - flows["churned"]),
                          "nrr": str((kept / start).quantize(Decimal("0.0001"))) if start else None,
                          "active": sum(1 for c, v in last.values() if c == currency and v > 0)})
    s = t.subscriptions
    now = select(s.c.currency, s.c.status, s.c.mrr).where(visible(caller, "subscription", s))
    for name in ("owner_id", "currency"):
        if data.get(name):
            now = now.where(s.c[name] == data[name])
    totals: dict = {}
    for currency, status, mrr in conn.execute(now):
        if currency is None:
            continue
        cur = totals.setdefault(currency, {"mrr": Decimal(0), "active": 0, "subscriptions": 0})
        cur["subscriptions"] += 1
        if status in PAYING:
            cur["mrr"] += Decimal(mrr or 0)
            cur["active"] += 1
    totals = {c: {"mrr": money(v["mrr"]), "arr": money(v["mrr"] * 12), "active": v["active"],
                  "subscriptions": v["subscriptions"]} for c, v in sorted(totals.items())}
    return answer("subscriptions", data, items, {"by_currency": totals})
