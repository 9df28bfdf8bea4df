"""The tickets counted per day of creation (UTC), kept off the projection's path, for the edge days of a dated
service query (domain/service_dated.py).

The projection only marks the days whose tickets a batch changed (`ticket_day_marks`, state DAY_CHANGED: one row
per batch and day, written only when it said otherwise; projections/store.py). The timer `count_ticket_days` counts
the days marked, and the days of the tickets' months never counted, one at a time in two transactions: `claim`
marks the day DAY_COUNTING (a batch marking it meanwhile waits for that row, so every change before is committed
when it ends); `count` then reads the day's tickets (the same SQL a query of edge days reads them with) into
`ticket_days` (per day x channel x SLA policy: the tickets' COUNTS) and `ticket_day_times` (per day: the times'
buckets) and marks it DAY_COUNTED only if it is still DAY_COUNTING: a batch that changed a ticket of it since has
marked it DAY_CHANGED (and one doing so while the count ends waits for the count's commit, then marks it). No
live batch waits for a count. A rebuild counts every day of the generation it fills before it switches to it
(domain/rebuild.py); the days its catch-up changes are read from the tickets until the timer counts them.

A query reads a counted day from these rows and any other day from the tickets: the same counts and buckets."""
from __future__ import annotations

import math
import time as clock
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Date, and_, case, func, literal, or_, select

from crm_common.db import serialize_on

from crm_analytics.domain.filters import dialect_of, seconds
from crm_analytics.models import GENERATIONS
from crm_analytics.projections import ticket_sums
from crm_analytics.projections.ticket_sums import SEP, kept
from crm_analytics.projections.upserts import insert_for

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


def claim(conn, skip=(), gen: str | None = None):
    """The next day to count of generation `gen` (the active one by default) but those in `skip`, (generation, day)
    or None: one marked changed, or left being counted, the latest first; else one of the tickets' months never
    counted. Marked DAY_COUNTING."""
    if gen is None:
        from crm_analytics.domain.log import state
        gen = state(conn).active
    t = GENERATIONS[gen]
    marks = t.ticket_day_marks
    day = conn.execute(select(marks.c.day).where(marks.c.state != ticket_sums.DAY_COUNTED, marks.c.day.not_in(skip))
                       .order_by(marks.c.day.desc()).limit(1)).scalar()
    if day is None:
        day = next(iter(_never_counted(conn, t, 1)), None)
    if day is None:
        return None
    insert = insert_for(dialect_of(conn))
    statement = insert(marks).values(day=day, state=ticket_sums.DAY_COUNTING)
    conn.execute(statement.on_conflict_do_update(index_elements=["day"], set_={"state": ticket_sums.DAY_COUNTING}))
    return gen, day


def count_claimed(conn, gen: str, day: date) -> bool:
    """Count the tickets of `day` (claimed, in an earlier transaction) into its rows; marked counted unless a
    batch changed one of them since the claim (then left changed, counted again later). Whether it was."""
    t = GENERATIONS[gen]
    d, dt, marks = t.ticket_days, t.ticket_day_times, t.ticket_day_marks
    serialize_on(conn, f"an_ticket_days_{gen}")  # one count at a time (two timers: the month's accounts added twice)
    if conn.execute(select(marks.c.state).where(marks.c.day == day)).scalar() != ticket_sums.DAY_COUNTING:
        return False  # counted meanwhile by another, or changed since the claim
    conn.execute(d.delete().where(d.c.day == day))
    conn.execute(dt.delete().where(dt.c.day == day))
    counts, times = count(conn, t.tickets, day, dialect_of(conn))
    if counts:
        conn.execute(d.insert(), [{"day": day, "value": v, **dict(zip(ticket_sums.COUNTS, n))}
                                  for v, n in counts.items()])
    if times:
        conn.execute(dt.insert(), [{"day": day, "measure": m, "bucket": b, "tickets": n}
                                   for (m, b), n in times.items()])
    _count_accounts(conn, t, day)
    done = conn.execute(marks.update().where(marks.c.day == day, marks.c.state == ticket_sums.DAY_COUNTING)
                        .values(state=ticket_sums.DAY_COUNTED))
    return done.rowcount == 1


def _count_accounts(conn, t, day: date) -> None:
    """The tickets of `day` per account into its rows, and its month's rows changed by as much."""
    da, ma, k = t.ticket_day_accounts, t.ticket_month_accounts, t.tickets
    insert, month = insert_for(dialect_of(conn)), day.replace(day=1)

    def into_month(sign: int) -> None:
        statement = insert(ma).from_select(["month", "account_id", "tickets"], select(
            literal(month, Date), da.c.account_id, da.c.tickets * sign).where(da.c.day == day))
        conn.execute(statement.on_conflict_do_update(index_elements=["month", "account_id"],
                                                     set_={"tickets": ma.c.tickets + statement.excluded.tickets}))
    into_month(-1)
    conn.execute(da.delete().where(da.c.day == day))
    conn.execute(insert(da).from_select(["day", "account_id", "tickets"], select(
        literal(day, Date), k.c.account_id, func.count())
        .where(between(k.c.created_at, day, day + timedelta(days=1)), k.c.account_id.is_not(None))
        .group_by(k.c.account_id)))
    into_month(1)
    conn.execute(ma.delete().where(ma.c.month == month, ma.c.tickets == 0))


def top_accounts(conn, t, months: list, edges: list, most: int = 20) -> list:
    """The `most` accounts with the most tickets [(account, tickets)] (ties in the database's order of the ids) of
    the whole `months` (their first days) and the days `edges` ([(from, to (exclusive), sign)]: their tickets added
    that many times): a month whose every day is counted, and a day counted, from their rows, the rest from the
    tickets (an index-only scan of their (created_at, account_id) index on PostgreSQL, a range a statement)."""
    ma, k = t.ticket_month_accounts, t.tickets
    counted = _counted_months(conn, t, months)
    totals: dict = {}
    if counted:
        for account, n in conn.execute(select(ma.c.account_id, func.sum(ma.c.tickets))
                                       .where(ma.c.month.in_(counted)).group_by(ma.c.account_id)):
            totals[account] = n
    signed = days_of(edges)
    done = clean(conn, t, sorted(signed))
    da = t.ticket_day_accounts
    for sign in (1, -1):
        days = sorted(d for d in done if signed[d] == sign)
        if days:
            for account, n in conn.execute(select(da.c.account_id, func.sum(da.c.tickets))
                                           .where(da.c.day.in_(days)).group_by(da.c.account_id)):
                totals[account] = totals.get(account, 0) + sign * n
    ranges = [(m, next_month(m), 1) for m in months if m not in counted] + ranges_of(
        {d: sign for d, sign in signed.items() if d not in done})
    for a, b, sign in ranges:
        for account, n in conn.execute(select(k.c.account_id, func.count())
                                       .where(between(k.c.created_at, a, b), k.c.account_id.is_not(None))
                                       .group_by(k.c.account_id)):
            totals[account] = totals.get(account, 0) + sign * n
    found = sorted(((a, n) for a, n in totals.items() if n > 0), key=lambda an: -an[1])
    if not found:
        return []
    least = found[min(most, len(found)) - 1][1]
    kept = [(a, n) for a, n in found if n >= least]  # the ties at the last place too
    from crm_analytics.domain.service_sums import in_database_order
    rank = {a: i for i, a in enumerate(in_database_order(conn, [a for a, _ in kept]))}
    return sorted(kept, key=lambda an: (-an[1], rank[an[0]]))[:most]


def days_of(edges: list) -> dict:
    """{day: sign} of [(from, to (exclusive), sign)]."""
    return {a + timedelta(days=n): sign for a, b, sign in edges for n in range((b - a).days)}


def ranges_of(signed: dict) -> list:
    """{day: sign} as [(from, to (exclusive), sign)] of consecutive days of one sign."""
    out: list = []
    for day in sorted(signed):
        if out and out[-1][1] == day and out[-1][2] == signed[day]:
            out[-1] = (out[-1][0], day + timedelta(days=1), signed[day])
        else:
            out.append((day, day + timedelta(days=1), signed[day]))
    return out


def _counted_months(conn, t, months: list) -> list:
    """Those of `months` (first days) whose every day is counted."""
    if not months:
        return []
    marks = t.ticket_day_marks
    days: dict = {}
    for day in conn.execute(select(marks.c.day).where(marks.c.state == ticket_sums.DAY_COUNTED,
                                                      marks.c.day >= min(months),
                                                      marks.c.day < next_month(max(months)))).scalars():
        days[day.replace(day=1)] = days.get(day.replace(day=1), 0) + 1
    return [m for m in months if days.get(m, 0) == (next_month(m) - m).days]


def next_month(day: date) -> date:
    """The first day of the month after `day`'s."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _never_counted(conn, t, most: int) -> list:
    """Up to `most` days of the months the pre-counted tickets have (their crossed rows) with no mark, latest first."""
    s, marks = t.ticket_sums, t.ticket_day_marks
    months = set()
    for value in conn.execute(select(s.c.value).where(s.c.dimension == ticket_sums.CROSSED, s.c.opened != 0)).scalars():
        month = ticket_sums.parts(value)[0]
        if month:
            months.add(ticket_sums.first_day(month))
    if not months:
        return []
    marked = set(conn.execute(select(marks.c.day)).scalars())
    out = []
    for first in sorted(months, reverse=True):
        day = next_month(first) - timedelta(days=1)
        while day >= first and len(out) < most:
            if day not in marked:
                out.append(day)
            day -= timedelta(days=1)
        if len(out) >= most:
            break
    return out


def refresh_all(transaction, budget: float | None = None, gen: str | None = None) -> int:
    """Claim and count days of generation `gen` (the active one by default; `claim`, `count_claimed`;
    `transaction()`: a context manager giving a connection in a transaction of its own) until none is left or
    `budget` seconds have passed, each day once; the days counted. A day changed while it was counted is left to
    the next run."""
    started, done, seen = clock.monotonic(), 0, []
    while budget is None or clock.monotonic() - started < budget:
        with transaction() as conn:
            claimed = claim(conn, seen, gen)
        if claimed is None:
            break
        seen.append(claimed[1])
        with transaction() as conn:
            done += count_claimed(conn, *claimed)
    return done


def clean(conn, t, days: list) -> set:
    """Those of `days` counted and unchanged since."""
    marks = t.ticket_day_marks
    found: set = set()
    for i in range(0, len(days), 500):
        found.update(conn.execute(select(marks.c.day).where(marks.c.day.in_(days[i:i + 500]),
                                                            marks.c.state == ticket_sums.DAY_COUNTED)).scalars())
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
