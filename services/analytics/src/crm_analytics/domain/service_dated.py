"""A dated company-wide service query (from / to: days in UTC, inclusive, on the tickets' creation, as
filters.period) from the pre-counted tickets: the calendar months wholly inside the range from the month x channel
x policy rows (the UTC month of `created_at`, projections/ticket_sums.py), their times from the month buckets; the
days at its edges from the days counted (domain/ticket_days.py) where counted and unchanged since, else from the
tickets themselves (the `created_at` index), their times put into the same buckets, their channels and policies added
(an edge longer than half its month: that month's rows, less its other days, edge_days): the counts exact, the
quantiles within ticket_sums.ALPHA. The 20
accounts with the most tickets in the range: its whole months from the months' accounts the days counted give, where
every day is counted (no row the projection keeps crosses a month with an account: README, "Service figures
crossed"), the rest from the tickets (ticket_days.top_accounts). A range holding no whole month is read from the
tickets (exact)."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import case, func, or_, select, text, tuple_

from crm_analytics.domain import service_sums, ticket_days
from crm_analytics.domain.ticket_days import between, bucket, summed
from crm_analytics.domain.filters import FILTERS, seconds
from crm_analytics.projections import ticket_sums
from crm_analytics.projections.ticket_sums import decode

GROUPS = (None, "month")
WORK_MEM = "64MB"  # PostgreSQL: the edge days' statement's (its hash tables are in fact a few hundred kB)
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
    first = None if start is None else (start if start.day == 1 else ticket_days.next_month(start))
    last = None if after is None else after.replace(day=1)
    if first is not None and last is not None and first >= last:
        return None
    return first, last


def read(conn, t, data: dict, key, dialect: str, scale: float):
    """None when the pre-counted tickets do not answer (EXACT_UP_TO tickets or fewer, no whole month in the range);
    else as service_sums.read: per group, over every ticket, per channel, per policy, the 20 accounts with the most."""
    s, m = t.ticket_sums, t.ticket_times
    rows = service_sums.crossed(conn, s)
    everything = service_sums.summed(rows).get("", (0,))[0]
    start, end = data.get("from"), data.get("to")
    whole = span(start, end)
    if everything <= service_sums.EXACT_UP_TO or whole is None:
        return None
    first, last = whole
    by_month = data.get("group_by") == "month"
    edges = edge_days(start, end, first, last)
    complemented = {_month(a) for a, _, sign in edges if sign < 0}  # edge months read whole, their other days taken off
    rows = [r for r in rows if r[0][0] != "" and (_inside(r[0][0], first, last) or r[0][0] in complemented)]
    months = sorted({r[0][0] for r in rows})
    counts: dict = {}  # group -> [COUNTS]
    times: dict = {}  # group -> {measure: {bucket: tickets}}
    for value, found in service_sums.summed(rows, service_sums.PART["month"]).items():
        _add(counts.setdefault(decode(value) if by_month else None, [0] * _COUNTS), found)
    if months:
        for value, measure, b, n in conn.execute(select(m.c.value, m.c.measure, m.c.bucket, m.c.tickets).where(
                m.c.dimension == "month", m.c.value.in_(months), m.c.tickets != 0)):
            into = times.setdefault(decode(value) if by_month else None, {}).setdefault(measure, {})
            into[b] = into.get(b, 0) + n
    if edges:
        channels, policies = service_sums.breakdowns(conn, rows, _edges(conn, t, key, edges, dialect, by_month, counts,
                                                                        times))
    else:
        channels, policies = service_sums.breakdowns(conn, rows)
    # the projection's rows cross no month with an account: the days counted do (domain/ticket_days.py)
    top = ticket_days.top_accounts(conn, t, [ticket_sums.first_day(v) for v in months], edges)
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


def edge_days(start: date | None, end: date | None, first: date | None, last: date | None) -> list:
    """The days of the range start..end (inclusive) outside its whole months first..last (span's), as [(from, to
    (exclusive), sign)]: an edge of at most half its month read as it is (+1); a longer one as its whole month (the
    pre-counted rows) less that month's other days (-1): counts and time buckets subtract, so the answer is the same
    and fewer tickets are read."""
    out = []
    if start is not None and start < first:
        month = start.replace(day=1)
        out.append((month, start, -1) if 2 * (first - start).days > (first - month).days else (start, first, 1))
    after = None if end is None else end + timedelta(days=1)
    if after is not None and last < after:
        month = ticket_days.next_month(last)
        out.append((after, month, -1) if 2 * (after - last).days > (month - last).days else (last, after, 1))
    return out


def _month(day: date) -> str:
    """The month of `day` as the crossed rows keep it."""
    return ticket_sums.kept(f"{day.year:04d}-{day.month:02d}")


def _inside(value: str, first: date | None, last: date | None) -> bool:
    month = ticket_sums.first_day(value)
    return (first is None or month >= first) and (last is None or ticket_days.next_month(month) <= last)


def _add(into: list, found) -> None:
    for i, n in enumerate(found):
        into[i] += n or 0


def _edges(conn, t, key, edges: list, dialect: str, by_month: bool, counts: dict, times: dict) -> tuple:
    """The edges' days (edge_days: [(from, to, sign)]) counted into `counts` and `times` per group, each `sign` times:
    a day counted and unchanged since from its counted rows (domain/ticket_days.py), the others from the tickets
    (`_tickets`); their [(channel, tickets)] and [(policy, tickets, breached)], signed alike."""
    signed = ticket_days.days_of(edges)
    done = ticket_days.clean(conn, t, sorted(signed))
    channels, policies = ticket_days.read(conn, t, {d: s for d, s in signed.items() if d in done}, by_month, counts,
                                          times)
    rest = ticket_days.ranges_of({d: s for d, s in signed.items() if d not in done})
    if rest:
        found = _tickets(conn, t.tickets, key, rest, dialect, counts, times)
        channels, policies = channels + list(found[0]), policies + list(found[1])
    return channels, policies


def _tickets(conn, k, key, edges: list, dialect: str, counts: dict, times: dict) -> tuple:
    """The tickets created in the edges' days (edge_days: [(from, to, sign)]), counted into `counts` and `times` per
    group (`key`), each ticket `sign` times (-1: days taken off a month read whole): `counted`."""
    c = k.c
    return counted(conn, k, key, [(between(c.created_at, a, b), sign) for a, b, sign in edges], dialect, counts,
                   times)


def counted(conn, k, key, parts: list, dialect: str, counts: dict, times: dict, accounts: dict | None = None) -> tuple:
    """The tickets of `parts` ([(where, sign)], disjoint), counted into `counts` and `times` per group (`key`), each
    ticket its part's `sign` times (1, or -1 to take them off), their times bucketed by the database as
    ticket_sums.bucket does; and their [(channel, tickets)] and [(policy, tickets, breached)], signed alike.
    PostgreSQL: in one statement (GROUPING SETS: the tickets, on pages all over the table when not written in
    creation order, read once), each time in seconds computed once (a fenced subquery) and each measure's buckets a
    grouping set of their own (a few hundred groups, hashed, not the thousands of pairs of buckets sorted). With
    `accounts`, their tickets per account are added to it ({account: tickets}, those with one)."""
    c = k.c
    when = or_(*[where for where, _ in parts])
    off = [where for where, sign in parts if sign < 0]
    sign = case((or_(*off), -1), else_=1) if off else None
    if dialect == "postgresql":
        return _grouping_sets(conn, k, key, when, sign, counts, times, accounts)
    from crm_analytics.domain.service_figures import channels_and_policies  # it imports this module
    buckets = [bucket(seconds(c[column], c.created_at, dialect)) for _, column in ticket_sums.MEASURES]
    grouped = conn.execute(select(key, *buckets, *summed(c, sign)).where(when).group_by(key, *buckets)).all()
    for group, first_response, resolution, *found in grouped:
        _add(counts.setdefault(group, [0] * _COUNTS), found)
        for measure, b in zip(("first_response", "resolution"), (first_response, resolution)):
            _into(times, group, measure, b, found[0])
    channels, policies = [], []
    for signed in (1, -1):
        wheres = [where for where, sign in parts if sign == signed]
        if wheres:
            found = channels_and_policies(conn, k, or_(*wheres))
            channels += [(v, signed * n) for v, n in found[0]]
            policies += [(v, signed * n, signed * b) for v, n, b in found[1]]
            if accounts is not None:
                for account, n in conn.execute(select(c.account_id, func.count()).where(
                        or_(*wheres), c.account_id.is_not(None)).group_by(c.account_id)):
                    accounts[account] = accounts.get(account, 0) + signed * n
    return channels, policies


def _grouping_sets(conn, k, key, when, sign, counts: dict, times: dict, accounts: dict | None = None) -> tuple:
    c = k.c
    names = ["channel", "sla_policy_id", "status", "first_response_breached", "resolution_breached", "reopened",
             "solved_at", "first_responded_at"] + (["account_id"] if accounts is not None else [])
    inner = select(getattr(key, "element", key).label("g"), *[c[n] for n in names],
                   *[seconds(c[column], c.created_at, "postgresql").label(measure)
                     for measure, column in ticket_sums.MEASURES],
                   *([] if sign is None else [sign.label("sign")])).where(when).offset(0).subquery()  # the fence
    t = inner.c
    first_response, resolution = (bucket(t[measure]) for measure, _ in ticket_sums.MEASURES)
    # the sets: a group's first response buckets (and its counts), its resolution buckets, the channels, the
    # policies (and with `accounts`, the accounts); grouping() has a bit set for each of its arguments not grouped on
    keys = [first_response, resolution, t.channel, t.sla_policy_id] + ([t.account_id] if accounts is not None else [])
    full = (1 << len(keys)) - 1
    first_set, resolution_set, channel_set, policy_set, account_set = (
        [full ^ (1 << (len(keys) - 1 - i)) for i in range(len(keys))] + [None])[:5]
    which = func.grouping(*keys)
    # for it alone (this transaction's settings, put back after): no JIT (past jit_above_cost, about a month of edge
    # days, compiling its expressions cost more than it saved) and the memory to hash every set (the planner, guessing
    # tens of thousands of groups where there are a few hundred, else sorts 100,000s of rows on disk for one of them)
    jit, memory = conn.execute(text("SELECT current_setting('jit'), current_setting('work_mem'), "
                                    "set_config('jit', 'off', true), set_config('work_mem', :memory, true)"),
                               {"memory": WORK_MEM}).one()[:2]
    sets = [tuple_(t.g, first_response), tuple_(t.g, resolution), t.channel, t.sla_policy_id] + keys[4:]
    rows = conn.execute(select(which, t.g, *keys, *summed(t, None if sign is None else t.sign))
                        .group_by(func.grouping_sets(*sets))).all()
    conn.execute(text("SELECT set_config('jit', :jit, true), set_config('work_mem', :memory, true)"),
                 {"jit": jit, "memory": memory})
    n = 2 + len(keys)  # where the counts begin
    for r in rows:
        if r[0] == first_set:
            _add(counts.setdefault(r[1], [0] * _COUNTS), r[n:])
            _into(times, r[1], "first_response", r[2], r[n])
        elif r[0] == resolution_set:
            _into(times, r[1], "resolution", r[3], r[n])
        elif r[0] == account_set and r[6] is not None:
            accounts[r[6]] = accounts.get(r[6], 0) + r[n]
    return ([(r[4], r[n]) for r in rows if r[0] == channel_set],
            [(r[5], r[n], r[n + 3]) for r in rows if r[0] == policy_set and r[5] not in (None, "")])


def _into(times: dict, group, measure: str, b, tickets: int) -> None:
    if b is not None:
        into = times.setdefault(group, {}).setdefault(measure, {})
        into[int(b)] = into.get(int(b), 0) + tickets
