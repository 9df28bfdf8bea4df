"""Service figures: backlog, first-response and resolution times (median, p90), SLA compliance per policy,
reopen rate, CSAT and NPS, complaints by root cause, tickets per channel and per account. Tickets over the
caller's ticket scope (a ticket is its assignee's own)."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import and_, case, func, or_, select

from crm_analytics.domain.filters import (answer, dialect_of, distributions, filtered, group_key, period, ratio, seconds,
                                          visible)
from crm_analytics.domain import service_dated, service_groups, service_sums
from crm_analytics.domain.log import active

GROUPS = ("owner", "team", "channel", "account", "priority", "policy", "month")
OPEN = ("new", "open", "pending", "on_hold")


def service(ctx, data: dict) -> dict:
    """Tickets opened in the period, by group; survey answers and complaints received in it. The company-wide
    figures over all time from the pre-counted tickets when there are many (domain/service_sums.py, quantiles within
    its bound, which the answer's `quantiles` gives), over whole months and their edge days too
    (domain/service_dated.py), and a support agent's over all time (domain/service_groups.py); else counted and
    summed up in SQL (filters.distributions): one row a group leaves the database, not one a ticket."""
    conn = ctx.session
    t = active(conn)
    k, s, c = t.tickets, t.surveys, t.complaints
    dialect = dialect_of(conn)
    key = group_key(data, k, GROUPS, k.c.created_at, dialect)  # first: a group or filter it has not is a 422
    where = and_(visible(ctx.caller, "ticket", k), filtered(data, k),
                 period(data, k.c.created_at))
    found = service_sums.read(conn, t, data, HOUR) if service_sums.applies(ctx, data) else None
    if found is None and service_dated.applies(ctx, data):
        found = service_dated.read(conn, t, data, key, dialect, HOUR)
    if found is None and service_groups.applies(ctx, data):
        found = service_groups.read(conn, t, ctx.caller.user_id, key, dialect, HOUR)
    exact = found is None
    if exact:
        found = _read(conn, k, key, where, dialect, bool(data.get("group_by")))
    grouped, overall, channels, policies, accounts = found
    items = [{"key": g, **_figures(*figures)} for g, figures in sorted(grouped.items(), key=lambda kv: str(kv[0]))]
    totals = _figures(*overall) if overall else _figures((0, 0, 0, 0, 0, 0), None, None)
    totals["per_channel"] = _count_by(channels)
    totals["sla_by_policy"] = [{"policy_id": p, "tickets": n, "breached": b, "compliance": ratio(n - b, n)}
                               for p, n, b in policies]
    totals["satisfaction"] = _surveys(conn, ctx, s, data)
    totals["complaints_by_root_cause"] = _complaints(conn, ctx, c, data)
    totals["per_account"] = dict(sorted(accounts, key=lambda kv: -kv[1]))
    return answer("service", data, items, totals,
                  quantiles=service_sums.EXACT if exact else service_sums.APPROXIMATE)


def _read(conn, k, key, where, dialect, total: bool) -> tuple:
    """What `service_sums.read` gives, read from the tickets themselves."""
    grouped, overall = _tickets(conn, k, key, where, dialect, total)
    return (grouped, overall, *breakdowns(conn, k, where, dialect))


def breakdowns(conn, k, where, dialect: str) -> tuple:
    """The tickets `where` selects per channel [(channel, tickets)], per SLA policy [(policy, tickets, breached)] (in
    policy order) and the 20 accounts with the most [(account, tickets)] (ties in account order). PostgreSQL: in one
    statement (GROUPING SETS: the tickets read once, not three times)."""
    if dialect != "postgresql":
        return (*channels_and_policies(conn, k, where), top_accounts(conn, k, where))
    channel, policy, account = k.c.channel, k.c.sla_policy_id, k.c.account_id
    which = func.grouping(channel, policy, account)  # 3: the channel's set, 5: the policy's, 6: the account's
    rows = conn.execute(
        select(which, channel, policy, account, func.count(), _n(_breached(k))).where(where)
        .group_by(func.grouping_sets(channel, policy, account))
        .order_by(which, case((which == 6, -func.count()), else_=0), policy, account)).all()
    channels = [(c, n) for w, c, _, _, n, _ in rows if w == 3]
    policies = [(p, n, b) for w, _, p, _, n, b in rows if w == 5 and p not in (None, "")]
    accounts = [(a, n) for w, _, _, a, n, _ in rows if w == 6 and a is not None][:20]
    return channels, policies, accounts


def channels_and_policies(conn, k, where) -> tuple:
    """SQLite: the tickets `where` selects per channel and per SLA policy (in policy order), as `breakdowns`."""
    channels = conn.execute(select(k.c.channel, func.count()).where(where).group_by(k.c.channel)).all()
    policies = conn.execute(select(k.c.sla_policy_id, func.count(), _n(_breached(k))).where(where, _has_policy(k))
                            .group_by(k.c.sla_policy_id).order_by(k.c.sla_policy_id)).all()
    return channels, policies


def top_accounts(conn, k, where) -> list:
    """The 20 accounts with the most tickets `where` selects [(account, tickets)] (ties in account order)."""
    return conn.execute(select(k.c.account_id, func.count()).where(where, k.c.account_id.is_not(None))
                        .group_by(k.c.account_id).order_by(func.count().desc(), k.c.account_id).limit(20)).all()


def _n(condition):
    return func.sum(case((condition, 1), else_=0))


def _has_policy(k):
    return and_(k.c.sla_policy_id.is_not(None), k.c.sla_policy_id != "")


def _breached(k):
    return or_(k.c.first_response_breached.is_(True), k.c.resolution_breached.is_(True))


def _tickets(conn, k, key, where, dialect, total: bool) -> tuple:
    """Per group key: opened, backlog, first response and resolution hours, SLA compliance, reopens; and the same
    over every group (with `total`, in the same statement; else the one group's: grouped by nothing); each as
    (counts, first response, resolution) for `_figures`."""
    reopened, policy = func.coalesce(k.c.reopened, 0) > 0, _has_policy(k)
    solved = seconds(k.c.solved_at, k.c.created_at, dialect)
    counts = (func.count(), _n(k.c.status.in_(OPEN)), _n(policy), _n(and_(policy, _breached(k))), _n(reopened),
              _n(and_(solved.is_not(None), reopened)))
    values = [seconds(k.c.first_responded_at, k.c.created_at, dialect), solved]
    if not total:
        found = distributions(conn, key, values, where, HOUR, counts)
        grouped = {g: (n, first, resolution) for g, (n, (first, resolution)) in found.items()}
        return grouped, next(iter(grouped.values()), None)
    found, everything = distributions(conn, key, values, where, HOUR, counts, total=True)
    return ({g: (n, first, resolution) for g, (n, (first, resolution)) in found.items()},
            (everything[0], *everything[1]) if everything else None)


HOUR = 3600.0


def _figures(counts, first, resolution) -> dict:
    opened, backlog, with_policy, breached, reopened, solved_reopened = (int(n or 0) for n in counts)
    solved = resolution[0] if resolution else 0
    return {"opened": opened, "backlog": backlog, "first_response": _hours(first), "resolution": _hours(resolution),
            "sla_compliance": ratio(with_policy - breached, with_policy),
            "reopened": reopened, "reopen_rate": ratio(solved_reopened, solved)}


def _hours(found) -> dict:
    n, _, median, p90 = found or (0, None, None, None)
    return {"count": n, "median_hours": _r(median), "p90_hours": _r(p90)}


def _r(value):
    return None if value is None else round(value, 3)


def _count_by(rows) -> dict:
    counts: dict = defaultdict(int)
    for value, n in rows:
        counts[value or "none"] += n
    return dict(sorted(counts.items()))


def _surveys(conn, ctx, s, data) -> dict:
    """CSAT and NPS of the answers in the period: counted per kind and score in SQL (one row a score)."""
    rows = conn.execute(select(s.c.kind, s.c.score, func.count()).where(
        visible(ctx.caller, "survey", s), period(data, s.c.answered_at), s.c.score.is_not(None),
        s.c.kind.in_(("csat", "nps"))).group_by(s.c.kind, s.c.score)).all()
    csat = [(score, n) for kind, score, n in rows if kind == "csat"]
    nps = [(score, n) for kind, score, n in rows if kind == "nps"]
    answered, scored = sum(n for _, n in csat), sum(score * n for score, n in csat)
    voted = sum(n for _, n in nps)
    promoters, detractors = sum(n for x, n in nps if x >= 9), sum(n for x, n in nps if x <= 6)
    return {"csat_responses": answered, "csat_average": round(scored / answered, 2) if answered else None,
            "csat_satisfied": ratio(sum(n for x, n in csat if x >= 4), answered),
            "nps_responses": voted, "promoters": promoters, "detractors": detractors,
            "nps": round(100.0 * (promoters - detractors) / voted, 1) if voted else None}


def _complaints(conn, ctx, c, data) -> list:
    rows = conn.execute(select(c.c.root_cause, func.count(), func.count(c.c.resolved_at)).where(
        visible(ctx.caller, "complaint", c), period(data, c.c.opened_at)).group_by(c.c.root_cause)).all()
    return [{"root_cause": cause, "complaints": n, "resolved": done}
            for cause, n, done in sorted(rows, key=lambda r: (-r[1], str(r[0])))]
