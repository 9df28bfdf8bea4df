"""A support agent's service figures (team scope: the tickets assigned to them, opened by them or of a support group
they belong to, filters.tickets_readable) over all time from the pre-counted tickets: a ticket has one group, so
the tickets of their groups are the sum of their groups' team x group x channel x policy rows (ticket_sums.BY_GROUP)
and their times the sum of their groups' buckets (ticket_sums.TEAM_GROUP); the few assigned to or opened by them
in no group of theirs are read from the tickets (ranges of the (owner_id, group_id) and (created_by, group_id)
indexes) and added: counts, channels, policies and accounts, their times put into the same buckets
(service_dated.counted). Each ticket counted once: one of their groups' is counted from the rows whether it is also
assigned to or opened by them or not. The 20 accounts with the most: their groups' tickets per account from the
tickets' (group_id, account_id) index, plus the few's. The counts exact, the quantiles within ticket_sums.ALPHA, as
service_sums'. Up to service_sums.EXACT_UP_TO tickets in the company, a date, a filter or a group: the tickets read
(exact, domain/service_figures.py)."""
from __future__ import annotations

from sqlalchemy import Integer, Text, and_, cast, func, or_, select, true, union_all
from sqlalchemy.dialects.postgresql import ARRAY

from crm_analytics.domain import service_dated, service_sums
from crm_analytics.domain.filters import FILTERS, narrowest
from crm_analytics.projections import ticket_sums
from crm_analytics.projections.ticket_sums import SEP, kept

GROUP = 1  # the part of a ticket_sums.BY_GROUP value the support group is (then the channel, then the policy)
_COUNTS = len(ticket_sums.COUNTS)


def applies(ctx, data: dict) -> bool:
    """A caller whose tickets are the desk's team scope (a support agent), over all time, not filtered, grouped by
    nothing."""
    caller = ctx.caller
    return (bool(caller.user_id) and narrowest(caller) in ("team", "territory")
            and data.get("from") is None and data.get("to") is None and data.get("group_by") is None
            and all(data.get(name) is None for name in FILTERS))


def read(conn, t, user: str, key, dialect: str, scale: float):
    """None when the company has EXACT_UP_TO tickets or fewer; else as service_sums.read for `user`'s tickets: (per
    group: {None: (counts, first response, resolution)}, {} when they read no ticket; the same over them;
    [(channel, tickets)], [(policy, tickets, breached)], [(account, tickets)] (the 20 with the most))."""
    s, m, k = t.ticket_sums, t.ticket_times, t.tickets
    rows = service_sums.crossed(conn, s, ticket_sums.BY_GROUP)
    if service_sums.summed(rows).get("", (0,))[0] <= service_sums.EXACT_UP_TO:
        return None
    groups = groups_of(conn, t, user)
    theirs = {kept(g) for g in groups}
    rows = [r for r in rows if r[0][GROUP] in theirs]
    counts = {None: service_sums.summed(rows).get("", [0] * _COUNTS)}
    times: dict = {}
    pairs = sorted({r[0][0] + SEP + r[0][GROUP] for r in rows})
    if pairs:
        for measure, b, n in conn.execute(select(m.c.measure, m.c.bucket, m.c.tickets).where(
                m.c.dimension == ticket_sums.TEAM_GROUP, m.c.value.in_(pairs), m.c.tickets != 0)):
            into = times.setdefault(None, {}).setdefault(measure, {})
            into[b] = into.get(b, 0) + n
    c = k.c
    outside = _outside(c.group_id, service_sums.in_database_order(conn, groups))
    few = or_(*[and_(who, part) for who in (c.owner_id == user, c.created_by == user) for part in outside])
    accounts: dict = {}
    edges = service_dated.counted(conn, k, key, [(few, 1)], dialect, counts, times, accounts)
    # the rows' parts as the month x channel x policy rows' (service_sums.PART), for service_sums.breakdowns
    channels, policies = service_sums.breakdowns(conn, [(("",) + parts[2:], n) for parts, n in rows], edges)
    total = counts.get(None, [0] * _COUNTS)
    if total[0] <= 0:
        return {}, None, channels, policies, []
    figures = service_sums.group(total, service_sums.quantiles(times.get(None, {}), scale))
    return {None: figures}, figures, channels, policies, top_accounts(conn, k, groups, accounts, dialect)


def _outside(column, groups: list) -> list:
    """`column` in none of `groups` (in the database's order), as conditions each an index's range (null, below the
    first, between two, above the last): with the assignee's or the opener's, an index range of (owner_id, group_id)
    or (created_by, group_id) each, so that only those tickets are fetched, not every one assigned to or opened by
    the caller (most of them of their groups)."""
    if not groups:
        return [true()]
    bounds = [column < groups[0]] + [and_(column > a, column < b) for a, b in zip(groups, groups[1:])]
    return [column.is_(None), *bounds, column > groups[-1]]


def top_accounts(conn, k, groups: list, more: dict, dialect: str, most: int = 20) -> list:
    """The `most` accounts with the most tickets of `groups` (the (group_id, account_id) index alone) and `more`
    ({account: tickets} of the others) [(account, tickets)], ties in account order (the database's, as the exact
    path's: PostgreSQL sorts them; SQLite's BINARY collation is Python's order)."""
    c = k.c
    of_groups = select(c.account_id.label("account_id"), func.count().label("tickets")).where(
        c.group_id.in_(groups), c.account_id.is_not(None)).group_by(c.account_id)
    if dialect != "postgresql":
        found = dict(more)
        if groups:
            for account, n in conn.execute(of_groups):
                found[account] = found.get(account, 0) + n
        return sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:most]
    given = select(func.unnest(cast(list(more), ARRAY(Text))).label("account_id"),
                   func.unnest(cast(list(more.values()), ARRAY(Integer))).label("tickets"))
    tickets = (union_all(of_groups, given) if groups else given).subquery()
    n = func.sum(tickets.c.tickets)
    return [(account, int(count)) for account, count in conn.execute(
        select(tickets.c.account_id, n).group_by(tickets.c.account_id).order_by(n.desc(), tickets.c.account_id)
        .limit(most))]


def groups_of(conn, t, user: str) -> list:
    """The support groups `user` belongs to (the desk's members, an_group_members)."""
    g = t.group_members
    return sorted(set(conn.execute(select(g.c.group_id).where(g.c.user_id == user, g.c.group_id.is_not(None)))
                      .scalars()))
