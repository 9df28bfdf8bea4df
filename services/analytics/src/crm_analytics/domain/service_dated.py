"""A dated company-wide service query (from / to: days in UTC, inclusive, on the tickets' creation, as
filters.period) from the pre-counted tickets: the calendar months wholly inside the range from the month rows (the
UTC month of `created_at`, projections/ticket_sums.py), the days at its edges counted from the tickets themselves
(the `created_at` index), their times put into the same buckets: the counts exact, the quantiles within
ticket_sums.ALPHA. A range holding no whole month is read from the tickets (exact). The tickets per channel, policy
and account of the range come from the tickets in either case (service_figures.breakdowns): no pre-counted row
crosses a month with them."""
from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import and_, case, func, or_, select

from crm_analytics.domain import service_sums
from crm_analytics.domain.filters import FILTERS, seconds
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


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), timezone.utc)


def read(conn, t, data: dict, key, dialect: str, scale: float):
    """None when the pre-counted tickets do not answer (EXACT_UP_TO tickets or fewer, no whole month in the range);
    else (per group: (counts, first response, resolution), the same over every ticket) as service_sums.read."""
    s, m, k = t.ticket_sums, t.ticket_times, t.tickets
    everything = conn.execute(select(s.c.opened).where(s.c.dimension == "all", s.c.value == "")).scalar()
    start, end = data.get("from"), data.get("to")
    whole = span(start, end)
    if not everything or everything <= service_sums.EXACT_UP_TO or whole is None:
        return None
    first, last = whole
    by_month = data.get("group_by") == "month"
    counts: dict = {}  # group -> [COUNTS]
    times: dict = {}  # group -> {measure: {bucket: tickets}}
    months = [value for value in conn.execute(select(s.c.value).where(s.c.dimension == "month", s.c.value != ""))
              .scalars() if _inside(value, first, last)]
    if months:
        for value, *found in conn.execute(select(s.c.value, *[s.c[n] for n in ticket_sums.COUNTS])
                                          .where(s.c.dimension == "month", s.c.value.in_(months))):
            _add(counts.setdefault(decode(value) if by_month else None, [0] * _COUNTS), found)
        for value, measure, b, n in conn.execute(select(m.c.value, m.c.measure, m.c.bucket, m.c.tickets).where(
                m.c.dimension == "month", m.c.value.in_(months), m.c.tickets != 0)):
            into = times.setdefault(decode(value) if by_month else None, {}).setdefault(measure, {})
            into[b] = into.get(b, 0) + n
    edges = []
    if start is not None and (first is None or start < first):
        edges.append((start, first))
    if end is not None and last < end + timedelta(days=1):
        edges.append((last, end + timedelta(days=1)))
    if edges:
        _edges(conn, k, key, edges, dialect, counts, times)
    grouped = {g: service_sums.group(found, _quantiles(times.get(g, {}), scale))
               for g, found in counts.items() if found[0] > 0}
    if not grouped:
        return {}, None
    total, total_times = [0] * _COUNTS, {}
    for g in grouped:
        _add(total, counts[g])
        for measure, found in times.get(g, {}).items():
            into = total_times.setdefault(measure, {})
            for b, n in found.items():
                into[b] = into.get(b, 0) + n
    return grouped, service_sums.group(total, _quantiles(total_times, scale))


def _inside(value: str, first: date | None, last: date | None) -> bool:
    month = date(int(value[1:5]), int(value[6:8]), 1)
    return (first is None or month >= first) and (last is None or _next_month(month) <= last)


def _add(into: list, found) -> None:
    for i, n in enumerate(found):
        into[i] += n or 0


def _quantiles(found: dict, scale: float) -> dict:
    return {measure: service_sums.summary(sorted((b, n) for b, n in buckets.items() if n), scale)
            for measure, buckets in found.items() if any(buckets.values())}


def _edges(conn, k, key, edges, dialect: str, counts: dict, times: dict) -> None:
    """The tickets created in the edges' days ([start, end) pairs of days), counted into `counts` and `times` per
    group (`key`), their times bucketed by the database as ticket_sums.bucket does."""
    c = k.c
    policy = and_(c.sla_policy_id.is_not(None), c.sla_policy_id != "")
    breached = and_(policy, or_(c.first_response_breached.is_(True), c.resolution_breached.is_(True)))
    reopened = func.coalesce(c.reopened, 0) > 0
    flags = (c.status.in_(ticket_sums.OPEN), policy, breached, reopened, c.solved_at.is_not(None),
             and_(c.solved_at.is_not(None), reopened), c.first_responded_at.is_not(None))
    buckets = [_bucket(seconds(c[column], c.created_at, dialect)).label(measure)
               for measure, column in ticket_sums.MEASURES]
    when = or_(*[and_(c.created_at >= _midnight(a), c.created_at < _midnight(b)) for a, b in edges])
    rows = conn.execute(select(key, *buckets, func.count(), *[func.sum(case((f, 1), else_=0)) for f in flags])
                        .where(when).group_by(key, *buckets))
    for group, first_response, resolution, *found in rows:
        _add(counts.setdefault(group, [0] * _COUNTS), found)
        for measure, b in zip(("first_response", "resolution"), (first_response, resolution)):
            if b is not None:
                into = times.setdefault(group, {}).setdefault(measure, {})
                into[int(b)] = into.get(int(b), 0) + found[0]


def _bucket(value):
    """ticket_sums.bucket in SQL: ZERO for 0 seconds or less, floor(ln(s) / ln(GAMMA)) above; null stays null."""
    return case((value.is_(None), None), (value <= 0, ticket_sums.ZERO),  # SQLAlchemy's SQLite floor fails on null
                else_=func.floor(func.ln(value) / math.log(ticket_sums.GAMMA)))
