"""Pre-counted tickets: what the company-wide service figures (domain/service_sums.py) and a support agent's
(domain/service_groups.py) read instead of every ticket.

`an_ticket_sums`: per dimension and value, the tickets' counts: opened, backlog, with a policy, breaching it,
reopened, solved, solved and reopened, responded to. The dimensions a ticket counts in: its owner and priority, and
three crossings: `mcp` (CROSSED), its month of creation x channel x SLA policy (the value: the three parts joined by
SEP), which also gives the whole company, each month, channel and policy and their pairs (a few hundred rows summed;
no row of its own each); `tgcp` (BY_GROUP), its team x support group x channel x SLA policy, which gives each team
(the `team` group-by) and each group with its channels and policies (a support agent's groups: groups are disjoint,
a ticket has one, so their rows add up); `ca|<channel>` (BY_CHANNEL), the channel x its account (the value), which
also gives each account (the channels' summed). So a ticket counts in five rows. No month x account: one more row
per ticket with an account cost the projection ratio 0.024 (README, "Service figures crossed"). `an_ticket_times`:
per dimension and value (owner, team x group (`tg`, TEAM_GROUP), channel, priority, policy, month; the whole
company: the channels' summed), the first response and resolution times counted in buckets of relative width: bucket
b holds the times from GAMMA**b to GAMMA**(b + 1) seconds (a time of 0, or negative, which the figures count as 0:
bucket ZERO), so that the bucket's middle, `middle(b)`, is within ALPHA (relative) of every time in it.

The store keeps both with each batch (projections/store.py), as it keeps the opportunities' sums: for every ticket
row the batch changed, the row as read before the batch counts minus once and the row as written plus once; the
differences are added in one bulk upsert each. A rebuild replays into an empty generation, so it makes them afresh.
"""
from __future__ import annotations

import math
from collections import Counter
from datetime import date, timezone

SEP = "\x1f"  # joins a crossing's parts (each '' or '=' and the value; no id or channel holds it)
CROSSED = "mcp"  # month x channel x policy: the value MONTH SEP CHANNEL SEP POLICY
BY_CHANNEL = "ca" + SEP  # + the channel: its tickets per account (the value)
BY_GROUP = "tgcp"  # team x support group x channel x policy: the value TEAM SEP GROUP SEP CHANNEL SEP POLICY
TEAM_GROUP = "tg"  # the times per team x support group: the value TEAM SEP GROUP
COUNTS = ("opened", "backlog", "with_policy", "breached", "reopened", "solved", "solved_reopened", "responded")
MEASURES = (("first_response", "first_responded_at"), ("resolution", "solved_at"))
OPEN = ("new", "open", "pending", "on_hold")
ALPHA = 0.05  # the largest relative error of a time read from its bucket
GAMMA = (1 + ALPHA) / (1 - ALPHA)
_LOG_GAMMA = math.log(GAMMA)
ZERO = -1_000_000  # the bucket of the times of 0 seconds
# a day's mark (`ticket_day_marks.state`, domain/ticket_days.py): a ticket of it changed since it was counted; being
# counted (its count started after every change before); counted (its rows hold its tickets)
DAY_CHANGED, DAY_COUNTING, DAY_COUNTED = 0, 1, 2


def decode(value: str):
    """A dimension's value as the key column holds it ('' for none, else '=' and the value: '' and none differ)."""
    return None if value == "" else value[1:]


def bucket(seconds: float) -> int:
    return ZERO if seconds <= 0 else math.floor(math.log(seconds) / _LOG_GAMMA)


def middle(b: int) -> float:
    """The time (s) standing for bucket `b`: within ALPHA, relative, of each time in it (2 G**(b+1) / (1 + G))."""
    return 0.0 if b == ZERO else 2 * GAMMA ** (b + 1) / (1 + GAMMA)


def _utc(at):
    if at.tzinfo is timezone.utc:
        return at
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


_MONTHS: dict = {}  # (year, month) -> its value
# the COUNTS a ticket's bit set counts it in, for each bit set
_BITS = tuple(tuple(i for i in range(len(COUNTS)) if counts >> i & 1) for counts in range(1 << len(COUNTS)))


def _month(created) -> str:
    found = _MONTHS.get((created.year, created.month))
    if found is None:
        found = _MONTHS[(created.year, created.month)] = f"={created.year:04d}-{created.month:02d}"
    return found


def first_day(value: str) -> date:
    """The first day of a month as the rows keep it (`_month`: '=2026-03')."""
    return date(int(value[1:5]), int(value[6:8]), 1)


def kept(value) -> str:
    """A dimension's value as the rows keep it: '' for none, else '=' and the value (`decode` reverses it)."""
    return "" if value is None else "=" + str(value)


def parts(value: str) -> list:
    """A crossing's value as its parts, each as a dimension's value is kept."""
    return value.split(SEP)


def contribution(row: dict | None):
    """(the dimension keys, the counts (bit i: the ticket counts in COUNTS[i]), the timed dimension keys,
    ((measure, bucket), ...)) of one ticket row (None: no row)."""
    if row is None:
        return None
    get = row.get
    created = get("created_at")
    if created is not None:
        created = _utc(created)
    month, channel, policy = ("" if created is None else _month(created)), kept(get("channel")), \
        kept(get("sla_policy_id"))
    owner, priority, account = kept(get("owner_id")), kept(get("priority")), kept(get("account_id"))
    team_group = kept(get("team_id")) + SEP + kept(get("group_id"))
    keys = (("owner", owner), (BY_GROUP, team_group + SEP + channel + SEP + policy), ("priority", priority),
            (CROSSED, month + SEP + channel + SEP + policy), (BY_CHANNEL + channel, account))
    has_policy = get("sla_policy_id") not in (None, "")
    breached = has_policy and bool(get("first_response_breached") or get("resolution_breached"))
    reopened = (get("reopened") or 0) > 0
    responded = solved = False
    times = ()
    if created is not None:
        found = []
        for measure, column in MEASURES:
            at = get(column)
            if at is not None:
                found.append((measure, bucket((_utc(at) - created).total_seconds())))
        if found:
            times = tuple(found)
            responded = any(m == "first_response" for m, _ in times)
            solved = any(m == "resolution" for m, _ in times)
    counts = (1 | (get("status") in OPEN) << 1 | has_policy << 2 | breached << 3 | reopened << 4 | solved << 5
              | (solved and reopened) << 6 | responded << 7)
    timed = (("owner", owner), (TEAM_GROUP, team_group), ("channel", channel), ("priority", priority),
             ("policy", policy), ("month", month)) if times else ()
    return keys, counts, timed, times


def deltas(changes, days: set | None = None) -> tuple[list[dict], list[dict]]:
    """The rows to add to `an_ticket_sums` and `an_ticket_times` for `changes`, pairs (row before, row after) of
    tickets (None: absent). The keys are counted per bit set of counts first (most tickets of a batch alike: a
    ticket opened counts in the same few), then each key's counts are summed from those. `days`: the days of
    creation (UTC) of the tickets whose counts, times or creation changed are added to it (domain/ticket_days.py)."""
    gathered: dict = {}  # counts -> Counter {(dimension, value): tickets added}
    times: dict = {}
    for before, after in changes:
        old, new = contribution(before), contribution(after)
        if old == new and (days is None or before is None
                           or before.get("created_at") == after.get("created_at")):
            continue  # nothing counted changed (a comment, a subject...): nothing to add
        if days is not None:
            for row in (before, after):
                if row is not None and row.get("created_at") is not None:
                    days.add(_utc(row["created_at"]).date())
            if old == new:
                continue
        for found, sign in ((old, -1), (new, 1)):
            if found is None:
                continue
            keys, counts, timed, measured = found
            seen = gathered.get(counts)
            if seen is None:
                seen = gathered[counts] = Counter()
            if sign > 0:
                seen.update(keys)
            else:
                seen.subtract(keys)
            for measure, b in measured:
                for dimension, value in timed:
                    k = (dimension, value, measure, b)
                    times[k] = times.get(k, 0) + sign
    totals: dict = {}  # (dimension, value) -> [one total per COUNTS]
    width = len(COUNTS)
    for counts, seen in gathered.items():
        bits = _BITS[counts]
        for key, n in seen.items():
            if n:
                row = totals.get(key)
                if row is None:
                    row = totals[key] = [0] * width
                for i in bits:
                    row[i] += n
    sums = [{"dimension": dimension, "value": value, **dict(zip(COUNTS, row))}
            for (dimension, value), row in totals.items() if any(row)]
    return sums, [{"dimension": d, "value": v, "measure": m, "bucket": b, "tickets": n}
                  for (d, v, m, b), n in times.items() if n]


def day_marks(dialect: str, table, days: set) -> tuple:
    """(statement, parameters) marking `days` DAY_CHANGED in `table` (`ticket_day_marks`): a row each, written only
    when it said otherwise (PostgreSQL: SQL text and its parameters, for the store's queued round trip)."""
    if dialect == "postgresql":
        from crm_analytics.projections.upserts import array_text
        return (f'INSERT INTO "{table.name}" AS m (day, state) SELECT d, {DAY_CHANGED} FROM unnest(CAST(%(days)s AS '
                f"date[])) AS d ON CONFLICT (day) DO UPDATE SET state = {DAY_CHANGED} WHERE m.state <> {DAY_CHANGED}",
                {"days": array_text(sorted(days))})
    from sqlalchemy.dialects.sqlite import insert
    return (insert(table).on_conflict_do_update(index_elements=["day"], set_={"state": DAY_CHANGED},
                                                where=table.c.state != DAY_CHANGED),
            [{"day": d, "state": DAY_CHANGED} for d in sorted(days)])


def fill(conn, t, chunk: int = 50_000) -> None:
    """Count every ticket of generation `t` into its (empty) pre-counted tables, as the projection would have."""
    from sqlalchemy import select
    k = t.tickets
    columns = [k.c[name] for name in ("owner_id", "team_id", "group_id", "channel", "priority", "sla_policy_id",
                                      "account_id", "created_at", "status", "first_response_breached",
                                      "resolution_breached", "reopened", "first_responded_at", "solved_at")]
    result = conn.execute(select(*columns).execution_options(yield_per=chunk))  # a server-side cursor
    sums, times = _Totals(), _Totals()
    for part in result.mappings().partitions(chunk):
        found_sums, found_times = deltas((None, dict(row)) for row in part)
        sums.add(found_sums, ("dimension", "value"), COUNTS)
        times.add(found_times, ("dimension", "value", "measure", "bucket"), ("tickets",))
    for table, rows in ((t.ticket_sums, sums.rows()), (t.ticket_times, times.rows())):
        for i in range(0, len(rows), 5000):
            conn.execute(table.insert(), rows[i:i + 5000])


class _Totals:
    def __init__(self):
        self._rows: dict = {}

    def add(self, rows: list[dict], key: tuple, added: tuple) -> None:
        for row in rows:
            k = tuple(row[n] for n in key)
            entry = self._rows.get(k)
            if entry is None:
                self._rows[k] = dict(row)
            else:
                for n in added:
                    entry[n] += row[n]

    def rows(self) -> list[dict]:
        return list(self._rows.values())
