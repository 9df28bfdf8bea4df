"""The company-wide service figures over all time from the pre-counted tickets (projections/ticket_sums.py): the
counts exact, read per dimension and value (the whole company, a month, channel or policy summed from the month x
channel x policy rows); the first response and resolution quantiles from the times' buckets, each within
ticket_sums.ALPHA (relative) of the exact value (percentile_cont's interpolation between the two times around the
quantile, each taken as its bucket's middle). By team: the team x group x channel x policy rows and the team x group
buckets summed per team. A channel filter (grouped by nothing): that channel's crossed rows, buckets and accounts. A
dated one: domain/service_dated.py; a support agent's: domain/service_groups.py. Up to EXACT_UP_TO tickets, and for
another scoped query, filter or group, the figures read the tickets themselves (domain/service_figures.py): exact."""
from __future__ import annotations

from sqlalchemy import func, select, text

from crm_analytics.domain.filters import FILTERS, dialect_of
from crm_analytics.projections import ticket_sums
from crm_analytics.projections.ticket_sums import decode, kept

EXACT_UP_TO = 100_000  # tickets: up to this many the quantiles are exact (every ticket's times are read)
SERVED = (None, "owner", "team", "channel", "priority", "policy", "month")
QUANTILES = (0.5, 0.9)
EXACT = {"exact": True, "relative_error": 0.0}
APPROXIMATE = {"exact": False, "relative_error": ticket_sums.ALPHA}


def applies(ctx, data: dict) -> bool:
    """Whether the query is one the pre-counted tickets answer: a caller who reads every ticket, over all time, not
    filtered, grouped by nothing or by a dimension they count; or filtered by a channel alone, grouped by nothing."""
    caller = ctx.caller
    filters = {name for name in FILTERS if data.get(name) is not None}
    return (data.get("from") is None and data.get("to") is None
            and (data.get("group_by") in SERVED and not filters
                 or data.get("group_by") is None and filters == {"channel"})
            and caller.scope("analytics", "read") == "all" and caller.scope("ticket", "read") == "all")


PART = {"month": 0, "channel": 1, "policy": 2}  # the part of a ticket_sums.CROSSED value each dimension is
TEAM = 0  # the part of a ticket_sums.BY_GROUP or TEAM_GROUP value the team is (the group: 1)


def crossed(conn, s, dimension: str = ticket_sums.CROSSED) -> list:
    """The rows of a crossing (default: month x channel x policy): [((its parts as kept), [COUNTS])]."""
    return [(tuple(ticket_sums.parts(value)), counts) for value, *counts in conn.execute(
        select(s.c.value, *[s.c[n] for n in ticket_sums.COUNTS]).where(s.c.dimension == dimension))]


def summed(rows, part: int | None = None) -> dict:
    """{value of the part (None: every row, as ''): [COUNTS] summed} of `crossed` rows."""
    out: dict = {}
    for key, counts in rows:
        value = key[part] if part is not None else ""
        into = out.get(value)
        if into is None:
            into = out[value] = [0] * len(ticket_sums.COUNTS)
        for i, n in enumerate(counts):
            into[i] += n or 0
    return out


def read(conn, t, data: dict, scale: float):
    """None when the tickets are EXACT_UP_TO or fewer; else (per group: (counts, first response, resolution), the
    same over every ticket, [(channel, tickets)], [(policy, tickets, breached)], [(account, tickets)] (the 20 with
    the most)), counts as service_figures._figures takes them, times as (count, None, median, p90) / `scale`. The
    whole company, a month, channel or policy: summed from the crossed rows; a channel filter: its crossed rows,
    its buckets and its accounts."""
    s = t.ticket_sums
    rows = crossed(conn, s)
    everything = summed(rows).get("")
    if everything is None or everything[0] <= EXACT_UP_TO:
        return None
    channel = data.get("channel")
    if channel is not None:
        rows = [r for r in rows if r[0][1] == "=" + channel]
    dimension = data.get("group_by")
    buckets = _buckets(conn, t.ticket_times, {ticket_sums.TEAM_GROUP if dimension == "team" else dimension or "channel",
                                              "channel"})
    overall_times: dict = {}
    for (d, value), measures in buckets.items():
        if d == "channel" and (channel is None or value == "=" + channel):
            merge(overall_times, measures)
    totals = summed(rows).get("", [0] * len(ticket_sums.COUNTS))
    overall = group(totals, quantiles(overall_times, scale))
    if dimension is None:
        grouped = {None: overall} if totals[0] > 0 else {}
    elif dimension in PART:
        grouped = {decode(v): group(n, quantiles(buckets.get((dimension, v), {}), scale))
                   for v, n in summed(rows, PART[dimension]).items() if n[0] > 0}
    elif dimension == "team":  # the team x group rows summed per team (live tickets carry none: one group, none)
        times: dict = {}
        for (d, value), measures in buckets.items():
            if d == ticket_sums.TEAM_GROUP:
                merge(times.setdefault(ticket_sums.parts(value)[TEAM], {}), measures)
        grouped = {decode(v): group(n, quantiles(times.get(v, {}), scale))
                   for v, n in summed(crossed(conn, s, ticket_sums.BY_GROUP), TEAM).items() if n[0] > 0}
    else:
        grouped = {decode(value): group(counts, quantiles(buckets.get((dimension, value), {}), scale))
                   for value, *counts in conn.execute(select(s.c.value, *[s.c[n] for n in ticket_sums.COUNTS])
                                                      .where(s.c.dimension == dimension, s.c.opened > 0))}
    channels, policies = breakdowns(conn, rows)
    opened = func.sum(s.c.opened)
    accounts = [(decode(v), n) for v, n in conn.execute(
        select(s.c.value, opened).where(s.c.dimension.in_(
            [ticket_sums.BY_CHANNEL + c for c in sorted({key[1] for key, _ in rows})]), s.c.value != "")
        .group_by(s.c.value).having(opened > 0).order_by(opened.desc(), s.c.value).limit(20))]
    return grouped, overall, channels, policies, accounts


def breakdowns(conn, rows, edges: tuple = ((), ())) -> tuple:
    """[(channel, tickets)] and [(policy, tickets, breached)] (in the database's order of the policies) of the
    `crossed` rows, plus those of `edges` (the same lists, read from tickets)."""
    channels = {v: n[0] for v, n in summed(rows, PART["channel"]).items()}
    for value, n in edges[0]:
        channels[kept(value)] = channels.get(kept(value), 0) + n
    policies = {v: (n[2], n[3]) for v, n in summed(rows, PART["policy"]).items()}
    for value, n, b in edges[1]:
        had = policies.get(kept(value), (0, 0))
        policies[kept(value)] = (had[0] + n, had[1] + b)
    named = {decode(v): found for v, found in policies.items() if decode(v) not in (None, "") and found[0] > 0}
    return ([(decode(v), n) for v, n in channels.items() if n > 0],
            [(p, *named[p]) for p in in_database_order(conn, named)])


def in_database_order(conn, values) -> list:
    """`values` (texts) in the order the database sorts them (its collation: the order the exact path gives)."""
    values = list(values)
    if dialect_of(conn) != "postgresql" or len(values) < 2:
        return sorted(values)  # SQLite's BINARY collation: code points, as Python
    return list(conn.execute(text("SELECT v FROM unnest(CAST(:values AS text[])) v ORDER BY v"),
                             {"values": values}).scalars())


def merge(into: dict, measures: dict) -> None:
    """Add the buckets {measure: {bucket: tickets}} `measures` into `into`."""
    for measure, found in measures.items():
        target = into.setdefault(measure, {})
        for b, n in found.items():
            target[b] = target.get(b, 0) + n


def quantiles(found: dict, scale: float) -> dict:
    """{measure: (count, None, median, p90) / `scale`} of {measure: {bucket: tickets}}."""
    return {measure: summary(sorted((b, n) for b, n in buckets.items() if n), scale)
            for measure, buckets in found.items() if any(buckets.values())}


def group(counts, times: dict) -> tuple:
    opened, backlog, with_policy, breached, reopened, _solved, solved_reopened, _responded = counts
    return ((opened, backlog, with_policy, breached, reopened, solved_reopened),
            times.get("first_response"), times.get("resolution"))


def _buckets(conn, table, dimensions: set) -> dict:
    """{(dimension, value): {measure: {bucket: tickets}}} of the dimensions' time buckets."""
    c = table.c
    out: dict = {}
    for dimension, value, measure, b, n in conn.execute(
            select(c.dimension, c.value, c.measure, c.bucket, c.tickets)
            .where(c.dimension.in_(sorted(dimensions)), c.tickets > 0)):
        into = out.setdefault((dimension, value), {}).setdefault(measure, {})
        into[b] = into.get(b, 0) + n
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
