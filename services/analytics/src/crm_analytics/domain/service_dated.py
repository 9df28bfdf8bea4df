"""A dated company-wide service query (from / to: days in UTC, inclusive, on the tickets' creation, as
filters.period) from the pre-counted tickets: the calendar months wholly inside the range from the month x channel
x policy rows (the UTC month of `created_at`, projections/ticket_sums.py) and the month buckets, the days at its
edges from the day x channel x policy rows and the day buckets: the counts exact, the quantiles within
ticket_sums.ALPHA. The 20 accounts with the most tickets in the range are read from the tickets (no pre-counted row
crosses a month with an account: README, "Service figures crossed"), on PostgreSQL by an index-only scan of
`(created_at, account_id)`. A range holding no whole month is read from the tickets (exact)."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from crm_analytics.domain import service_sums
from crm_analytics.domain.filters import FILTERS, period
from crm_analytics.projections import ticket_sums
from crm_analytics.projections.ticket_sums import decode

GROUPS = (None, "month")
_COUNTS = len(ticket_sums.COUNTS)


def applies(ctx, data: dict) -> bool:
    """A caller who reads every ticket, a from or to date, no filter, grouped by nothing or by month."""
    caller = ctx.caller
    return ((data.get("from") is not None or data.get("to") is not None) and data.get("group_by") in GROUPS
            and all(data.get(name) is None for name in FILTERS)
            and caller.scope("analytics", "read") == "all" and caller.scope("ticket", "read") == "all")


def span(start: date | None, end: date | None):
    """(first day of the whole months, the day after them) of the days start..end (inclusive; None: open), or None
    when no calendar month lies wholly inside."""
    after = None if end is None else end + timedelta(days=1)
    first = None if start is None else (start if start.day == 1 else _next_month(start))
    last = None if after is None else after.replace(day=1)
    if first is not None and last is not None and first >= last:
        return None
    return first, last


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def read(conn, t, data: dict, scale: float):
    """None when the pre-counted tickets do not answer (EXACT_UP_TO tickets or fewer, no whole month in the range);
    else as service_sums.read: per group, over every ticket, per channel, per policy, the 20 accounts with the most."""
    s, m, k = t.ticket_sums, t.ticket_times, t.tickets
    rows = service_sums.crossed(conn, s)
    everything = service_sums.summed(rows).get("", (0,))[0]
    start, end = data.get("from"), data.get("to")
    whole = span(start, end)
    if everything <= service_sums.EXACT_UP_TO or whole is None:
        return None
    first, last = whole
    by_month = data.get("group_by") == "month"
    rows = [r for r in rows if r[0][0] != "" and _inside(r[0][0], first, last)]
    months = sorted({r[0][0] for r in rows})
    days = [_value(d) for a, b in _edges(start, end, first, last) for d in _days(a, b)]
    if days:  # the edge days' rows, as the month's crossed rows
        columns = [s.c[n] for n in ticket_sums.COUNTS]
        for dimension, value, *found in conn.execute(select(s.c.dimension, s.c.value, *columns).where(
                s.c.dimension.in_([ticket_sums.BY_DAY + day for day in days]))):
            rows.append(((dimension[len(ticket_sums.BY_DAY):][:8], *ticket_sums.parts(value)), found))
    counts: dict = {}  # group -> [COUNTS]
    times: dict = {}  # group -> {measure: {bucket: tickets}}
    for value, found in service_sums.summed(rows, service_sums.PART["month"]).items():
        _add(counts.setdefault(decode(value) if by_month else None, [0] * _COUNTS), found)
    for dimension, values in (("month", months), ("day", days)):
        if not values:
            continue
        for value, measure, b, n in conn.execute(select(m.c.value, m.c.measure, m.c.bucket, m.c.tickets).where(
                m.c.dimension == dimension, m.c.value.in_(values), m.c.tickets != 0)):
            into = times.setdefault(decode(value[:8]) if by_month else None, {}).setdefault(measure, {})
            into[b] = into.get(b, 0) + n
    channels, policies = service_sums.breakdowns(conn, rows)
    top = _accounts(conn, k, period(data, k.c.created_at))
    grouped = {g: service_sums.group(found, service_sums.quantiles(times.get(g, {}), scale))
               for g, found in counts.items() if found[0] > 0}
    if not grouped:
        return {}, None, channels, policies, top
    total, total_times = [0] * _COUNTS, {}
    for g in grouped:
        _add(total, counts[g])
        service_sums.merge(total_times, times.get(g, {}))
    return (grouped, service_sums.group(total, service_sums.quantiles(total_times, scale)), channels, policies,
            top)


def _accounts(conn, k, where) -> list:
    """The 20 accounts with the most tickets in the range [(account, tickets)] (ties in account order), read from
    the tickets (no pre-counted row crosses a month with an account)."""
    return conn.execute(select(k.c.account_id, func.count()).where(where, k.c.account_id.is_not(None))
                        .group_by(k.c.account_id).order_by(func.count().desc(), k.c.account_id).limit(20)).all()


def _inside(value: str, first: date | None, last: date | None) -> bool:
    month = date(int(value[1:5]), int(value[6:8]), 1)
    return (first is None or month >= first) and (last is None or _next_month(month) <= last)


def _add(into: list, found) -> None:
    for i, n in enumerate(found):
        into[i] += n or 0


def _edges(start: date | None, end: date | None, first: date | None, last: date | None) -> list:
    """The [start, end) pairs of days of the range start..end (inclusive) outside its whole months first..last."""
    edges = []
    if start is not None and (first is None or start < first):
        edges.append((start, first))
    if end is not None and last < end + timedelta(days=1):
        edges.append((last, end + timedelta(days=1)))
    return edges


def _days(start: date, end: date) -> list:
    return [start + timedelta(days=i) for i in range((end - start).days)]


def _value(day: date) -> str:
    return "=" + day.isoformat()
