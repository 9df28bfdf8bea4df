"""Sales figures from the read models: pipeline, funnel, win rate, sales cycle and time in stage, forecast,
activities. Every figure is over the caller's scope (domain/filters.visible) and answers per group and in total;
amounts are per currency (never summed across currencies)."""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import and_, case, func, select

from crm_analytics.domain.filters import (answer, bad, dialect_of, distribution, distributions, filtered, group_key,
                                          money, period, ratio, seconds, visible)
from crm_analytics.domain.log import active
from crm_analytics.domain import targets, time_in_stage as in_stage

SALES_GROUPS = ("owner", "team", "territory", "source", "campaign", "month")
# pipeline, win rate and forecast sum the pre-aggregated opportunities (projections/sums.py: commit is probability
# >= 75 there), not every deal


def _base(ctx, data, table, resource="opportunity"):
    return and_(visible(ctx.caller, resource, table), filtered(data, table))


def pipeline(ctx, data: dict) -> dict:
    """Open deals by stage (count, amount, weighted by probability), by group; from/to on the expected close date."""
    conn = ctx.session
    o = active(conn).opportunity_sums
    key = group_key(data, o, SALES_GROUPS + ("stage",), o.c.expected_close_date, dialect_of(conn))
    rows = conn.execute(
        select(key, o.c.stage, o.c.currency, func.sum(o.c.deals), func.sum(o.c.amount), func.sum(o.c.weighted))
        .where(o.c.status == "open", _base(ctx, data, o), period(data, o.c.expected_close_date))
        .group_by(key, o.c.stage, o.c.currency).having(func.sum(o.c.deals) > 0).order_by(key, o.c.stage)).all()
    items = [{"key": k, "stage": stage, "currency": cur, "count": n, "amount": money(a), "weighted": money(w)}
             for k, stage, cur, n, a, w in rows]
    return answer("pipeline", data, items, _totals(items, ("count",), ("amount", "weighted")))


def _totals(items: list, counts: tuple, amounts: tuple) -> dict:
    """Totals of the items: counts summed, amounts summed per currency."""
    totals: dict = {name: sum(i[name] for i in items) for name in counts}
    per_currency: dict = defaultdict(lambda: {name: Decimal(0) for name in amounts})
    for item in items:
        for name in amounts:
            per_currency[item.get("currency")][name] += Decimal(item[name])
    totals["by_currency"] = [{"currency": cur, **{n: money(v) for n, v in sums.items()}}
                             for cur, sums in sorted(per_currency.items(), key=lambda kv: str(kv[0]))]
    return totals


def funnel(ctx, data: dict) -> dict:
    """Leads created in the period, how many were converted, became deals and were won: counts and the
    conversion rate of each step, by owner, territory, source, campaign or month of the lead."""
    conn = ctx.session
    t = active(conn)
    lead, opp = t.leads, t.opportunities
    key = group_key(data, lead, ("owner", "territory", "source", "campaign", "month"), lead.c.created_at,
                    dialect_of(conn))
    won = case((opp.c.status == "won", 1), else_=0)
    rows = conn.execute(
        select(key, func.count(), func.count(lead.c.converted_at), func.count(opp.c.id), func.sum(won))
        .select_from(lead.outerjoin(opp, opp.c.id == lead.c.opportunity_id))
        .where(_base(ctx, data, lead, "lead"), period(data, lead.c.created_at))
        .group_by(key).order_by(key)).all()
    items = [_steps({"key": k, "leads": n, "converted": c, "opportunities": o, "won": int(w or 0)})
             for k, n, c, o, w in rows]
    totals = _steps({name: sum(i[name] for i in items) for name in ("leads", "converted", "opportunities", "won")})
    return answer("funnel", data, items, totals)


def _steps(row: dict) -> dict:
    row["conversion"] = {"lead_to_converted": ratio(row["converted"], row["leads"]),
                         "converted_to_opportunity": ratio(row["opportunities"], row["converted"]),
                         "opportunity_to_won": ratio(row["won"], row["opportunities"]),
                         "lead_to_won": ratio(row["won"], row["leads"])}
    return row


def win_rate(ctx, data: dict) -> dict:
    """Deals closed in the period: won, lost, win rate, won amount and average deal size (won), by group."""
    conn = ctx.session
    o = active(conn).opportunity_sums
    key = group_key(data, o, SALES_GROUPS, o.c.closed_on, dialect_of(conn))
    is_won = o.c.status == "won"
    rows = conn.execute(
        select(key, o.c.currency, func.sum(case((is_won, o.c.deals), else_=0)),
               func.sum(case((is_won, 0), else_=o.c.deals)), func.sum(case((is_won, o.c.amount), else_=0)))
        .where(o.c.status.in_(("won", "lost")), _base(ctx, data, o), period(data, o.c.closed_on))
        .group_by(key, o.c.currency).having(func.sum(o.c.deals) > 0).order_by(key, o.c.currency)).all()
    items = []
    for k, cur, w, lost in ((r[0], r[1], int(r[2] or 0), int(r[3] or 0)) for r in rows):
        amount = next(r[4] for r in rows if (r[0], r[1]) == (k, cur))
        items.append({"key": k, "currency": cur, "won": w, "lost": lost, "win_rate": ratio(w, w + lost),
                      "won_amount": money(amount), "average_deal_size": money(Decimal(amount or 0) / w) if w else None})
    won_total, lost_total = sum(i["won"] for i in items), sum(i["lost"] for i in items)
    totals = {"won": won_total, "lost": lost_total, "win_rate": ratio(won_total, won_total + lost_total)}
    return answer("win_rate", data, items, totals)


def sales_cycle(ctx, data: dict) -> dict:
    """Days from a deal's creation to its win (average, median, p90) for deals won in the period, by group;
    and the days deals spent in each stage they left in the period."""
    conn = ctx.session
    t = active(conn)
    o, h = t.opportunities, t.stage_history
    dialect = dialect_of(conn)
    key = group_key(data, o, SALES_GROUPS, o.c.closed_at, dialect)
    won = and_(o.c.status == "won", o.c.closed_at.is_not(None), _base(ctx, data, o), period(data, o.c.closed_at))
    took = seconds(o.c.closed_at, o.c.created_at, dialect)
    if data.get("group_by"):  # the groups and their total in one statement
        found, everything = distributions(conn, key, [took], won, DAY, total=True)
        grouped = {k: stats[0] for k, (_, stats) in found.items() if stats[0][0]}
        overall = {None: everything[1][0]} if everything and everything[1][0][0] else {}
    else:  # grouped by nothing: the one group is the total
        grouped = overall = distribution(conn, key, took, won, DAY)
    items = [{"key": k, **_days(d)} for k, d in grouped.items()]
    left = and_(h.c.left_at.is_not(None), visible(ctx.caller, "opportunity", h), period(data, h.c.left_at))
    if in_stage.applies(ctx, data, dialect):  # company-wide over all time: no sort of every stage row
        stages = in_stage.company_wide(conn, t, DAY)
    else:
        stages = distribution(conn, h.c.stage, seconds(h.c.left_at, h.c.entered_at, dialect), left, DAY)
    time_in_stage = [{"stage": s, **_days(d)} for s, d in sorted(stages.items(), key=lambda kv: str(kv[0]))]
    return answer("sales_cycle", data, items, _days(next(iter(overall.values()), None)),
                  time_in_stage=time_in_stage)


DAY = 86400.0


def _days(found) -> dict:
    """A group's (count, mean, median, p90) of days (filters.distribution) as the figure shows it."""
    n, mean, median, p90 = found or (0, None, None, None)
    return {"deals": n, "average_days": _round(mean), "median_days": _round(median), "p90_days": _round(p90)}


def _round(value):
    return None if value is None else round(value, 2)


def forecast(ctx, data: dict) -> dict:
    """Deals expected to close in the period (pipeline, weighted, commit at probability >= 75) and deals won
    in it, by owner, team, territory or month; the attainment (won / target) in percent against the targets sales
    set for the period (or a `target` given with the query)."""
    conn = ctx.session
    o = active(conn).opportunity_sums
    if data.get("group_by") in ("source", "campaign"):
        raise bad("group_by", "the forecast groups by owner, team, territory or month")
    dialect = dialect_of(conn)
    expected = group_key(data, o, SALES_GROUPS, o.c.expected_close_date, dialect)
    open_rows = conn.execute(
        select(expected, o.c.currency, func.sum(o.c.amount), func.sum(o.c.weighted), func.sum(o.c.commit))
        .where(o.c.status == "open", _base(ctx, data, o), period(data, o.c.expected_close_date))
        .group_by(expected, o.c.currency).having(func.sum(o.c.deals) > 0)).all()
    closed = group_key(data, o, SALES_GROUPS, o.c.closed_on, dialect)
    won_rows = conn.execute(
        select(closed, o.c.currency, func.sum(o.c.amount))
        .where(o.c.status == "won", _base(ctx, data, o), period(data, o.c.closed_on))
        .group_by(closed, o.c.currency).having(func.sum(o.c.deals) > 0)).all()
    groups: dict = {}
    zero = Decimal(0)

    def row(k, cur):
        return groups.setdefault((k, cur), {"key": k, "currency": cur, "pipeline": zero, "weighted": zero,
                                            "commit": zero, "closed_won": zero})
    for k, cur, pipe, weighted, commit in open_rows:
        r = row(k, cur)
        r["pipeline"], r["weighted"], r["commit"] = Decimal(pipe or 0), Decimal(weighted or 0), Decimal(commit or 0)
    for k, cur, won in won_rows:
        row(k, cur)["closed_won"] = Decimal(won or 0)
    items = [{**r, **{n: money(r[n]) for n in ("pipeline", "weighted", "commit", "closed_won")}}
             for _, r in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1])))]
    totals = _totals(items, (), ("pipeline", "weighted", "commit", "closed_won"))
    target = data.get("target")
    if target is None:  # the targets sales set (domain/targets.py)
        targets.attach(ctx, data, items, totals)
    else:  # a what-if target given with the query
        won = sum((Decimal(i["closed_won"]) for i in items), Decimal(0))
        totals["target"] = money(target)
        totals["attainment"] = str((won * 100 / Decimal(target)).quantize(Decimal("0.1"))) if Decimal(target) else None
    return answer("forecast", data, items, totals)


def activities(ctx, data: dict) -> dict:
    """Activities logged in the period per rep (or per month), by type."""
    conn = ctx.session
    a = active(conn).activities
    key = group_key(data, a, ("owner", "month"), a.c.occurred_at, dialect_of(conn))
    rows = conn.execute(
        select(key, a.c.type, func.count())
        .where(_base(ctx, data, a, "activity"), period(data, a.c.occurred_at))
        .group_by(key, a.c.type).order_by(key, a.c.type)).all()
    grouped: dict = {}
    for k, type_, n in rows:
        entry = grouped.setdefault(k, {"key": k, "total": 0, "by_type": {}})
        entry["by_type"][type_] = n
        entry["total"] += n
    items = list(grouped.values())
    return answer("activities", data, items, {"total": sum(i["total"] for i in items)})
