"""The company-wide service figures over all time from the pre-counted tickets (projections/ticket_sums.py): the
counts exact, read per dimension and value; the first response and resolution quantiles from the times' buckets,
each within ticket_sums.ALPHA (relative) of the exact value (percentile_cont's interpolation between the two times
around the quantile, each taken as its bucket's middle). A dated one: domain/service_dated.py. Up to EXACT_UP_TO
tickets, and for a scoped, filtered or by-account query, the figures read the tickets themselves
(domain/service_figures.py): exact."""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from crm_analytics.domain.filters import FILTERS
from crm_analytics.projections import ticket_sums
from crm_analytics.projections.ticket_sums import decode

EXACT_UP_TO = 100_000  # tickets: up to this many the quantiles are exact (every ticket's times are read)
SERVED = (None, "owner", "team", "channel", "priority", "policy", "month")
QUANTILES = (0.5, 0.9)
EXACT = {"exact": True, "relative_error": 0.0}
APPROXIMATE = {"exact": False, "relative_error": ticket_sums.ALPHA}


def applies(ctx, data: dict) -> bool:
    """Whether the query is one the pre-counted tickets answer: a caller who reads every ticket, over all time, not
    filtered, grouped by nothing or by a dimension they count."""
    caller = ctx.caller
    return (data.get("group_by") in SERVED and data.get("from") is None and data.get("to") is None
            and all(data.get(name) is None for name in FILTERS)
            and caller.scope("analytics", "read") == "all" and caller.scope("ticket", "read") == "all")


def ticket_reader(conn, t, caller):
    """The caller whose scope the tickets are read over: a team-scoped caller without their team when the
    pre-counted tickets (kept in the same transactions as the tickets) count none of that team: the same tickets,
    their own, which the owner index finds (a ticket's team is no index's key: the team's clause meant a scan). The
    live projection gives tickets no team."""
    if not caller.team_id or "team" not in (caller.scope("analytics", "read"), caller.scope("ticket", "read")):
        return caller
    s = t.ticket_sums
    found = conn.execute(select(s.c.opened).where(s.c.dimension == "team", s.c.value == "=" + caller.team_id)).scalar()
    return caller if found else replace(caller, team_id=None)


def read(conn, t, data: dict, scale: float):
    """None when the tickets are EXACT_UP_TO or fewer; else (per group: (counts, first response, resolution), the
    same over every ticket, [(channel, tickets)], [(policy, tickets, breached)], [(account, tickets)] (the 20 with
    the most)), counts as service_figures._figures takes them, times as (count, None, median, p90) / `scale`."""
    s = t.ticket_sums
    columns = [s.c[n] for n in ticket_sums.COUNTS]
    everything = conn.execute(select(*columns).where(s.c.dimension == "all", s.c.value == "")).first()
    if everything is None or everything[0] <= EXACT_UP_TO:
        return None
    dimension = data.get("group_by") or "all"
    times = _times(conn, t.ticket_times, {dimension, "all"}, scale)
    grouped = {}
    for value, *counts in conn.execute(select(s.c.value, *columns).where(s.c.dimension == dimension, s.c.opened > 0)):
        grouped[decode(value)] = group(counts, times.get((dimension, value), {}))
    overall = group(tuple(everything), times.get(("all", ""), {}))

    def rows(dimension_, *names):
        return select(s.c.value, *[s.c[n] for n in names]).where(s.c.dimension == dimension_, s.c[names[0]] > 0)
    channels = [(decode(v), n) for v, n in conn.execute(rows("channel", "opened"))]
    policies = [(decode(v), n, b) for v, n, b in conn.execute(rows("policy", "with_policy", "breached")
                                                              .order_by(s.c.value)) if decode(v) not in (None, "")]
    accounts = [(decode(v), n) for v, n in conn.execute(rows("account", "opened").where(s.c.value != "")
                                                        .order_by(s.c.opened.desc(), s.c.value).limit(20))]
    return grouped, overall, channels, policies, accounts


def group(counts, times: dict) -> tuple:
    opened, backlog, with_policy, breached, reopened, _solved, solved_reopened, _responded = counts
    return ((opened, backlog, with_policy, breached, reopened, solved_reopened),
            times.get("first_response"), times.get("resolution"))


def _times(conn, table, dimensions: set, scale: float) -> dict:
    """{(dimension, value): {measure: (count, None, median, p90)}} from the buckets."""
    c = table.c
    buckets: dict = {}
    for dimension, value, measure, b, n in conn.execute(
            select(c.dimension, c.value, c.measure, c.bucket, c.tickets)
            .where(c.dimension.in_(sorted(dimensions)), c.tickets > 0)):
        buckets.setdefault((dimension, value), {}).setdefault(measure, []).append((b, n))
    out: dict = {}
    for key, measures in buckets.items():
        for measure, found in measures.items():
            found.sort()
            out.setdefault(key, {})[measure] = summary(found, scale)
    return out


def summary(found: list, scale: float) -> tuple:
    """(count, None, median, p90) / `scale` of the times in `found`, [(bucket, tickets)] in bucket order."""
    total = sum(n for _, n in found)
    return (total, None, *[_quantile(found, total, q) / scale for q in QUANTILES])


def _quantile(found: list, total: int, q: float) -> float:
    """percentile_cont's interpolation between the two times around the q-quantile, each its bucket's middle."""
    place = (total - 1) * q
    low = int(place)
    first = _at(found, low)
    second = _at(found, low + 1) if low + 1 < total and place != low else first
    return first + (second - first) * (place - low)


def _at(found: list, index: int) -> float:
    before = 0
    for b, n in found:
        if before + n > index:
            return ticket_sums.middle(b)
        before += n
    raise IndexError(index)
