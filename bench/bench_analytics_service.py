"""The service figures at full scale (issue 14, 10a), figures printed, nothing asserted. PostgreSQL.

`load`: a database of its own (its URL printed, kept), migrated to the head, then BENCH_SERVICE_TICKETS tickets
(default 2,500,000) written straight into the active read models by SQL, not through the projection: 200 owners in
20 teams, 5 channels, 5,000 accounts, 4 priorities, 3 SLA policies (a tenth with none), created over 400 days, ~15 %
open, ~6 % reopened, ~8 % / ~6 % breaching their first response / resolution, first responses 1 minute to 2 days
after creation and resolutions 10 minutes to 14 days (log-uniform), a twelfth of them surveyed (CSAT and NPS), a
hundredth with a complaint; the tickets' pre-counted figures filled as the projection would have
(`projections.ticket_sums.fill`, when the code has them); every day's tickets counted as the service's timer would
(`domain.ticket_days.refresh_all`, when the code has them); VACUUM ANALYZE.
Each ticket is of one of 20 support groups, whose members are the owners (the desk's config events); a ticket by
phone was opened by one of the owners, the others by no user of the desk (the customer, or the mailbox).
`run <url>`: `service_figures.service` BENCH_SERVICE_RUNS times (default 9) per query and caller (a support agent of
group-2, who reads the tickets assigned to them, opened by them or of their group, as the desk shows them, and an
agent of no group), in one process on one connection: p50, p99 and the CPU a call (this process + its PostgreSQL backend), and a
hash of each answer (as JSON, its `quantiles` field left out) to compare codes; BENCH_SERVICE_ONLY: the names of the
queries to run (separated by ";"); with BENCH_SERVICE_EXACT=1 the largest difference of the median and p90 hours from
the exact ones (the pre-counted path turned off) is printed too. Then a saved report's first page over the tickets
(`reports.rows` as `run_report` reads it: 1,001 rows in the report's default order, newest first, and the total),
unfiltered and with one or two filters. `drop <url>`.
With no argument (`make bench`): load, run and drop in turn.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from analytics_scale import drop, new_database, timed, vacuum  # noqa: E402
from common import staged  # noqa: E402

TICKETS = int(os.environ.get("BENCH_SERVICE_TICKETS", "2500000"))
RUNS = int(os.environ.get("BENCH_SERVICE_RUNS", "9"))
OWNERS = 200

TICKETS_SQL = """
CREATE TEMP TABLE bench_tickets AS
SELECT n, md5('t' || n) AS id, o AS owner_no, lpad(to_hex(o), 32, '0') AS owner, 'team-' || (o % 20) AS team,
       'group-' || (o % 20) AS grp,
       (ARRAY['email', 'phone', 'chat', 'portal', 'social'])[1 + (hashint4(n * 3) & 65535) % 5] AS channel,
       CASE WHEN (hashint4(n * 3) & 65535) % 5 = 1  -- by phone: opened by an agent; else by the customer or mailbox
            THEN lpad(to_hex(1 + (hashint4(n * 23) & 2147483647) % {owners}), 32, '0') END AS opener,
       'acc-' || ((hashint4(n * 7) & 2147483647) % 5000) AS account,
       (ARRAY['low', 'normal', 'high', 'urgent'])[1 + (hashint4(n * 11) & 65535) % 4] AS priority,
       CASE WHEN n % 10 = 0 THEN NULL ELSE 'sla-' || (n % 3) END AS policy,
       created, r_status, r_reopen,
       created + 60 * exp(random() * ln(2880)) * interval '1 second' AS responded,
       created + 600 * exp(random() * ln(2016)) * interval '1 second' AS solved
FROM (SELECT n, 1 + (hashint4(n) & 2147483647) % {owners} AS o,
             timestamptz '2025-11-01' + random() * 400 * interval '1 day' AS created,
             random() AS r_status, random() AS r_reopen
      FROM generate_series(1, {tickets}) n) s;
"""
LOAD = """
INSERT INTO an_tickets_a (id, number, account_id, owner_id, team_id, group_id, created_by, channel, priority, type,
                          status, sla_policy_id, event_at, created_at, first_responded_at, solved_at, closed_at,
                          reopened, first_response_breached, resolution_breached)
SELECT id, 'T-' || n, account, owner, team, grp, opener, channel, priority, 'question',
       CASE WHEN r_status < 0.04 THEN 'new' WHEN r_status < 0.09 THEN 'open' WHEN r_status < 0.12 THEN 'pending'
            WHEN r_status < 0.15 THEN 'on_hold' WHEN r_status < 0.60 THEN 'solved' ELSE 'closed' END,
       policy, coalesce(solved, responded), created,
       CASE WHEN r_status >= 0.04 THEN responded END, CASE WHEN r_status >= 0.15 THEN solved END,
       CASE WHEN r_status >= 0.60 THEN solved + interval '3 days' END,
       CASE WHEN r_reopen < 0.01 THEN 2 WHEN r_reopen < 0.06 THEN 1 ELSE 0 END,
       policy IS NOT NULL AND hashint4(n * 13) & 255 < 20, policy IS NOT NULL AND hashint4(n * 17) & 255 < 15
FROM bench_tickets;
INSERT INTO an_surveys_a (id, ticket_id, kind, score, account_id, owner_id, team_id, answered_at)
SELECT 's' || id, id, CASE WHEN n % 2 = 0 THEN 'csat' ELSE 'nps' END,
       CASE WHEN n % 2 = 0 THEN 1 + (hashint4(n * 19) & 65535) % 5 ELSE (hashint4(n * 19) & 65535) % 11 END,
       account, owner, team, solved + interval '1 day'
FROM bench_tickets WHERE n % 12 = 0 AND r_status >= 0.15;
INSERT INTO an_complaints_a (id, ticket_id, account_id, owner_id, team_id, category, root_cause, status, opened_at,
                             resolved_at, on_time)
SELECT 'c' || id, id, account, owner, team, 'service',
       (ARRAY['slow response', 'wrong answer', 'rude', 'billing', 'product defect'])[1 + n % 5],
       CASE WHEN n % 3 = 0 THEN 'open' ELSE 'resolved' END, created + interval '2 days',
       CASE WHEN n % 3 = 0 THEN NULL ELSE created + interval '9 days' END, n % 4 <> 0
FROM bench_tickets WHERE n % 100 = 7;
INSERT INTO an_group_members_a (id, group_id, user_id)
SELECT 'group-' || (o % 20) || ':' || lpad(to_hex(o), 32, '0'), 'group-' || (o % 20), lpad(to_hex(o), 32, '0')
FROM generate_series(1, {owners}) o;
"""


def load() -> str:
    from sqlalchemy import text

    from crm_analytics.models import GENERATIONS
    url, engine = new_database(f"bench_service_{os.getpid()}")
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("SELECT setseed(0.7)"))
        conn.execute(text(TICKETS_SQL.format(owners=OWNERS, tickets=TICKETS)))
        conn.execute(text(LOAD.format(owners=OWNERS)))
    print(f"tickets written in {time.perf_counter() - started:.0f} s", flush=True)
    try:
        from crm_analytics.projections import ticket_sums
    except ImportError:  # the code before the pre-counted figures
        ticket_sums = None
    if ticket_sums is not None:
        with engine.begin() as conn:
            ticket_sums.fill(conn, GENERATIONS["a"])
    count_days(engine)
    counts = vacuum(engine, "SELECT (SELECT count(*) FROM an_tickets_a), (SELECT count(*) FROM an_surveys_a), "
                            "(SELECT count(*) FROM an_complaints_a)")
    engine.dispose()
    print(f"loaded {counts[0]:,} tickets, {counts[1]:,} surveys, {counts[2]:,} complaints in "
          f"{time.perf_counter() - started:.0f} s")
    return url


def count_days(engine) -> None:
    """The tickets counted per day, as the service's timer would have (`ticket_days.refresh_all`), when the code has
    them."""
    try:
        from crm_analytics.domain import ticket_days
    except ImportError:  # the code before the days counted
        return
    started = time.perf_counter()
    days = ticket_days.refresh_all(engine.begin)
    print(f"{days} days of tickets counted in {time.perf_counter() - started:.0f} s", flush=True)


def _queries():
    from crm_common.context import Actor
    from crm_common.permissions import BUILTIN_ROLES
    admin = Actor(user_id="adm", roles=("admin",), perms=BUILTIN_ROLES["admin"])
    rep = Actor(user_id=f"{1:032x}", roles=("sales_rep",), perms=BUILTIN_ROLES["sales_rep"])
    agent = Actor(user_id=f"{2:032x}", roles=("support_agent",), team_id="team-2", perms=BUILTIN_ROLES["support_agent"])
    alone = Actor(user_id=f"{OWNERS + 1:032x}", roles=("support_agent",), perms=BUILTIN_ROLES["support_agent"])
    return {"admin, whole company": (admin, {}), "admin, by owner": (admin, {"group_by": "owner"}),
            "admin, by month": (admin, {"group_by": "month"}), "admin, by channel": (admin, {"group_by": "channel"}),
            "admin, by policy": (admin, {"group_by": "policy"}), "admin, by team": (admin, {"group_by": "team"}),
            "admin, one month": (admin, {"from": "2026-03-01", "to": "2026-03-31"}),
            "admin, a month and edge days": (admin, {"from": "2026-02-20", "to": "2026-04-10"}),
            "admin, a month and a long edge": (admin, {"from": "2026-03-13", "to": "2026-04-30"}),
            "admin, a month and two half-month edges": (admin, {"from": "2026-02-16", "to": "2026-04-15"}),
            "admin, four months by month": (admin, {"from": "2026-02-01", "to": "2026-05-31", "group_by": "month"}),
            "admin, channel filter": (admin, {"channel": "email"}),
            "rep (own), whole company": (rep, {}), "rep (own), by month": (rep, {"group_by": "month"}),
            "agent (team): assigned, opened or of their group, whole company": (agent, {}),
            "agent of no group, whole company": (alone, {})}


REPORT_COLUMNS = ["number", "status", "channel", "priority", "created_at", "solved_at"]
# a saved report's first page as `reports.run_report` reads it (1,000 rows and one more, and the total): the
# report's default order is the newest first (the date of a report source is never empty: readmodels._dated)
REPORTS = {"report page, tickets newest first": {},
           "report page, new tickets newest first": {"status": "new"},
           "report page, open tickets of a channel": {"status": "open", "channel": "chat"}}


def _report_page(filters: dict):
    from crm_analytics.domain import reports
    from crm_analytics.models import Report

    def page(ctx, _query):
        report = Report(source="tickets", columns=REPORT_COLUMNS, filters=filters, group_by=None, sort=None)
        found, total = reports.rows(ctx, report, 0, 1001, count=True)
        return {"rows": found, "total": total}
    return page


def _hours(found: dict):
    """(group key, measure, quantile) -> hours, of every group and the totals."""
    out = {}
    for key, figures in [(i["key"], i) for i in found["items"]] + [("totals", found["totals"])]:
        for measure in ("first_response", "resolution"):
            for q in ("median_hours", "p90_hours"):
                out[(key, measure, q)] = figures[measure][q]
    return out


def run(url: str) -> int:
    from crm_common.db import make_engine

    from crm_analytics.domain import service_figures
    engine = make_engine(url, pool_size=1)
    only = [n for n in os.environ.get("BENCH_SERVICE_ONLY", "").split(";") if n]
    for name, (actor, params) in _queries().items():
        if only and name not in only:
            continue
        found = timed(engine, service_figures.service, actor, params, RUNS, "quantiles")
        how = found["answer"].get("quantiles", {"exact": True})
        line = f"{name:42}: {found['line']}  quantiles {'exact' if how.get('exact') else 'approximate'}"
        if os.environ.get("BENCH_SERVICE_EXACT") == "1" and not how.get("exact"):
            line += f"  largest relative error {_error(engine, actor, found['query'], found['answer']):.4f}"
        print(line, flush=True)
    admin = _queries()["admin, whole company"][0]
    for name, filters in REPORTS.items():
        if only and name not in only:
            continue
        found = timed(engine, _report_page(filters), admin, {}, RUNS)
        print(f"{name:42}: {found['line']}  rows {len(found['answer']['rows'])} of {found['answer']['total']:,}",
              flush=True)
    engine.dispose()
    return 0


def _error(engine, actor, query, approximate: dict) -> float:
    """The largest relative difference of the approximate quantiles from the exact ones (the pre-counted path off)."""
    from sqlalchemy.orm import Session

    from crm_common.context import Context

    from crm_analytics.domain import service_figures, service_sums
    kept, service_sums.EXACT_UP_TO = service_sums.EXACT_UP_TO, float("inf")
    try:
        with Session(engine) as session, session.begin():
            exact = service_figures.service(Context(session, actor, None, "bench"), query)
    finally:
        service_sums.EXACT_UP_TO = kept
    worst = 0.0
    got = _hours(approximate)
    for key, value in _hours(exact).items():
        if value:
            worst = max(worst, abs(got[key] - value) / value)
    return worst


if __name__ == "__main__":
    sys.exit(staged(load, run, drop))
