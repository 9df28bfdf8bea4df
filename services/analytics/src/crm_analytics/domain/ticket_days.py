"""The tickets counted per day of creation (UTC), kept off the projection's path, for the edge days of a dated
service query (domain/service_dated.py).

The projection only marks the days whose tickets a batch changed (`ticket_day_marks`, clean = false: one row per
batch and day, written only when it said counted; projections/store.py). The timer `count_ticket_days` counts the
days marked, and the days of the months the tickets have that were never counted, from the tickets themselves
(`count`, the same SQL as a query of edge days reads them with), into `ticket_days` (per day x channel x SLA
policy: the tickets' COUNTS) and `ticket_day_times` (per day: the times' buckets), and marks them clean. It does so
holding the state row for update (domain/log.state), as every live batch does: no batch is in flight meanwhile, so
a day marked clean holds every change committed before, and a later change marks it again. A rebuild starts the
generation it fills without marks: its days are read from the tickets until counted.

A query reads a clean day from these rows and any other day from the tickets: the same counts and buckets."""
from __future__ import annotations

import math
import time as clock
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import and_, case, func, or_, select

from crm_analytics.domain.filters import dialect_of, seconds
from crm_analytics.models import GENERATIONS
from crm_analytics.projections import ticket_sums
from crm_analytics.projections.ticket_sums import SEP, kept

DAYS_A_TRANSACTION = 4  # days counted while the state row is held (each ~10-40 ms at 6,000 tickets a day)
_COUNTS = len(ticket_sums.COUNTS)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), timezone.utc)


def between(at, a: date, b: date):
    """`at` on the days a (inclusive) to b (exclusive)."""
    return and_(at >= midnight(a), at < midnight(b))


def bucket(value):
    """ticket_sums.bucket in SQL: ZERO for 0 seconds or less, floor(ln(s) / ln(GAMMA)) above; null stays null."""
    return case((value.is_(None), None), (value <= 0, ticket_sums.ZERO),  # SQLAlchemy's SQLite floor fails on null
                else_=func.floor(func.ln(value) / math.log(ticket_sums.GAMMA)))


def summed(c, sign=None) -> list:
    """The tickets' COUNTS, summed, of the columns `c` (the tickets' or a subquery's of the same names); with `sign`,
    each ticket counted that many times (1 or -1)."""
    policy = and_(c.sla_policy_id.is_not(None), c.sla_policy_id != "")
    breached = and_(policy, or_(c.first_response_breached.is_(True), c.resolution_breached.is_(True)))
    reopened = func.coalesce(c.reopened, 0) > 0
    flags = (c.status.in_(ticket_sums.OPEN), policy, breached, reopened, c.solved_at.is_not(None),
             and_(c.solved_at.is_not(None), reopened), c.first_responded_at.is_not(None))
    if sign is None:
        return [func.count(), *[func.sum(case((f, 1), else_=0)) for f in flags]]
    return [func.sum(sign), *[func.sum(case((f, sign), else_=0)) for f in flags]]


def count(conn, k, day: date, dialect: str) -> tuple[dict, dict]:
    """The tickets `k` created on `day`: ({channel SEP policy (as kept): [COUNTS]}, {(measure, bucket): tickets})."""
    c = k.c
    buckets = [bucket(seconds(c[column], c.created_at, dialect)) for _, column in ticket_sums.MEASURES]
    counts: dict = {}
    times: dict = {}
    for channel, policy, first_response, resolution, *found in conn.execute(
            select(c.channel, c.sla_policy_id, *buckets, *summed(c))
            .where(between(c.created_at, day, day + timedelta(days=1)))
            .group_by(c.channel, c.sla_policy_id, *buckets)):
        into = counts.setdefault(kept(channel) + SEP + kept(policy), [0] * _COUNTS)
        for i, n in enumerate(found):
            into[i] += n or 0
        for measure, b in zip(("first_response", "resolution"), (first_response, resolution)):
            if b is not None:
                times[(measure, int(b))] = times.get((measure, int(b)), 0) + found[0]
    return counts, times


def refresh(conn, most: int = DAYS_A_TRANSACTION) -> int:
    """Count up to `most` days of the active generation that are marked changed or were never counted (the latest
    first), in the caller's transaction, holding the state row; how many were counted."""
    from crm_analytics.domain.log import state
    t = GENERATIONS[state(conn, lock="update").active]  # no live batch in flight until this transaction ends
    marks = t.ticket_day_marks
    days = list(conn.execute(select(marks.c.day).where(marks.c.clean.is_(False))
                             .order_by(marks.c.day.desc()).limit(most)).scalars())
    if len(days) < most:
        days += _never_counted(conn, t, most - len(days))
    if not days:
        return 0
    dialect = dialect_of(conn)
    d, dt = t.ticket_days, t.ticket_day_times
    conn.execute(d.delete().where(d.c.day.in_(days)))
    conn.execute(dt.delete().where(dt.c.day.in_(days)))
    conn.execute(marks.delete().where(marks.c.day.in_(days)))
    for day in days:
        counts, times = count(conn, t.tickets, day, dialect)
        if counts:
            conn.execute(d.insert(), [{"day": day, "value": v, **dict(zip(ticket_sums.COUNTS, n))}
                                      for v, n in counts.items()])
        if times:
            conn.execute(dt.insert(), [{"day": day, "measure": m, "bucket": b, "tickets": n}
                                       for (m, b), n in times.items()])
    conn.execute(marks.insert(), [{"day": day, "clean": True} for day in days])
    return len(days)


def _never_counted(conn, t, most: int) -> list:
    """Up to `most` days of the months the pre-counted tickets have (their crossed rows) with no mark, latest first."""
    s, marks = t.ticket_sums, t.ticket_day_marks
    months = set()
    for value in conn.execute(select(s.c.value).where(s.c.dimension == ticket_sums.CROSSED, s.c.opened != 0)).scalars():
        month = ticket_sums.parts(value)[0]
        if month:
            months.add(date(int(month[1:5]), int(month[6:8]), 1))
    if not months:
        return []
    marked = set(conn.execute(select(marks.c.day)).scalars())
    out = []
    for first in sorted(months, reverse=True):
        day = date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(days=1)
        while day >= first and len(out) < most:
            if day not in marked:
                out.append(day)
            day -= timedelta(days=1)
        if len(out) >= most:
            break
    return out


def refresh_all(transaction, budget: float | None = None) -> int:
    """`refresh` in transactions of their own (`transaction()`: a context manager giving a connection) until no day
    is left or `budget` seconds have passed; the days counted."""
    started, done = clock.monotonic(), 0
    while budget is None or clock.monotonic() - started < budget:
        with transaction() as conn:
            found = refresh(conn)
        if not found:
            break
        done += found
    return done


def clean(conn, t, days: list) -> set:
    """Those of `days` counted and unchanged since."""
    marks = t.ticket_day_marks
    found: set = set()
    for i in range(0, len(days), 500):
        found.update(conn.execute(select(marks.c.day).where(marks.c.day.in_(days[i:i + 500]),
                                                            marks.c.clean.is_(True))).scalars())
    return found


def read(conn, t, signed: dict, by_month: bool, counts: dict, times: dict) -> tuple:
    """The counted days {day: sign} added into `counts` and `times` per group (the day's month, or None), each
    `sign` times, as service_dated._edges adds the tickets it reads; their [(channel, tickets)] and [(policy,
    tickets, breached)], signed alike."""
    if not signed:
        return [], []
    d, dt = t.ticket_days, t.ticket_day_times
    days = sorted(signed)
    channels: dict = {}
    policies: dict = {}
    for day, value, *found in conn.execute(select(d.c.day, d.c.value, *[d.c[n] for n in ticket_sums.COUNTS])
                                           .where(d.c.day.in_(days))):
        sign, group = signed[day], _group(day, by_month)
        into = counts.setdefault(group, [0] * _COUNTS)
        for i, n in enumerate(found):
            into[i] += sign * n
        channel, policy = ticket_sums.parts(value)
        channels[channel] = channels.get(channel, 0) + sign * found[0]
        had = policies.get(policy, (0, 0))
        policies[policy] = (had[0] + sign * found[0], had[1] + sign * found[3])
    for day, measure, b, n in conn.execute(select(dt.c.day, dt.c.measure, dt.c.bucket, dt.c.tickets)
                                           .where(dt.c.day.in_(days))):
        into = times.setdefault(_group(day, by_month), {}).setdefault(measure, {})
        into[b] = into.get(b, 0) + signed[day] * n
    return ([(ticket_sums.decode(v), n) for v, n in channels.items()],
            [(ticket_sums.decode(v), n, b) for v, (n, b) in policies.items() if v not in ("", "=")])


def _group(day: date, by_month: bool):
    return f"{day.year:04d}-{day.month:02d}" if by_month else None
