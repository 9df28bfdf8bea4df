"""The sales cycle at full scale (issue 14, 10a), figures printed, nothing asserted. PostgreSQL.

`load`: a database of its own (its URL printed, kept), migrated to the head, then BENCH_CYCLE_DEALS deals (default
1,000,000) written straight into the active read models by SQL, not through the projection: every deal's
prospecting row left after 1-7 days at random, one of three stages after it, a third closed 5-45 days later, 40 %
of those won; 200 owners; `an_stage_times` filled from the stage rows as the projection would have; VACUUM ANALYZE.
`run <url>`: `sales_figures.sales_cycle` BENCH_CYCLE_RUNS times (default 9) per query and caller, in one process on
one connection: p50, p99 and the CPU a call (this process + its PostgreSQL backend), and a hash of each answer (as
JSON) to compare codes. `drop <url>`.
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

DEALS = int(os.environ.get("BENCH_CYCLE_DEALS", "1000000"))
RUNS = int(os.environ.get("BENCH_CYCLE_RUNS", "9"))
OWNERS = 200

LOAD = """
INSERT INTO an_opportunities_a (id, name, owner_id, team_id, amount, currency, stage, probability, status,
                                created_at, stage_entered_at, closed_at, event_at)
SELECT d.id, 'Deal ' || d.n, d.owner, right(d.owner, 1), 100 + d.n % 99900, 'EUR',
       CASE WHEN d.closed IS NULL THEN d.next ELSE CASE WHEN d.won THEN 'closed_won' ELSE 'closed_lost' END END,
       50, CASE WHEN d.closed IS NULL THEN 'open' WHEN d.won THEN 'won' ELSE 'lost' END,
       d.created, d.left1, d.closed, coalesce(d.closed, d.left1)
FROM bench_deals d;
INSERT INTO an_stage_history_a (opportunity_id, owner_id, team_id, stage, entered_at, left_at)
SELECT id, owner, right(owner, 1), 'prospecting', created, left1 FROM bench_deals
UNION ALL
SELECT id, owner, right(owner, 1), next, left1, closed FROM bench_deals;
"""
DEALS_SQL = """
CREATE TEMP TABLE bench_deals AS
SELECT n, md5(n::text) AS id, lpad(to_hex(1 + (hashint4(n) & 2147483647) % {owners}), 32, '0') AS owner,
       created, created + (1 + random() * 6) * interval '1 day' AS left1,
       (ARRAY['qualification', 'proposal', 'negotiation'])[1 + (n % 3)] AS next,
       CASE WHEN n % 3 = 0 THEN created + (1 + random() * 6 + 5 + random() * 40) * interval '1 day' END AS closed,
       random() < 0.4 AS won
FROM (SELECT n, timestamptz '2026-01-01' + (n % 400000) * interval '1 minute' AS created
      FROM generate_series(1, {deals}) n) s;
"""


def load() -> str:
    from sqlalchemy import select, text

    from crm_analytics.models import GENERATIONS
    from crm_analytics.projections import stage_times
    url, engine = new_database(f"bench_cycle_{os.getpid()}")
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("SELECT setseed(0.7)"))
        conn.execute(text(DEALS_SQL.format(owners=OWNERS, deals=DEALS)))
        conn.execute(text(LOAD))
        t = GENERATIONS["a"]
        h = t.stage_history
        found = conn.execute(select(h.c.stage, h.c.entered_at, h.c.left_at).where(h.c.left_at.is_not(None)))
        rows = stage_times.deltas(stage_times.stay(*row) for row in found)
        for i in range(0, len(rows), 5000):
            conn.execute(t.stage_times.insert(), rows[i:i + 5000])
    won, left = vacuum(engine, "SELECT (SELECT count(*) FROM an_opportunities_a WHERE status = 'won'), "
                               "(SELECT count(*) FROM an_stage_history_a WHERE left_at IS NOT NULL)")
    engine.dispose()
    print(f"loaded {DEALS:,} deals ({won:,} won, {left:,} stage rows left) in {time.perf_counter() - started:.0f} s")
    return url


def run(url: str) -> int:
    from crm_common.context import Actor
    from crm_common.db import make_engine
    from crm_common.permissions import BUILTIN_ROLES

    from crm_analytics.domain import sales_figures
    admin = Actor(user_id="adm", roles=("admin",), perms=BUILTIN_ROLES["admin"])
    rep = Actor(user_id=f"{1:032x}", roles=("sales_rep",), perms=BUILTIN_ROLES["sales_rep"])
    queries = {"admin, whole company": (admin, {}), "admin, by owner": (admin, {"group_by": "owner"}),
               "admin, by team": (admin, {"group_by": "team"}),
               "admin, one month": (admin, {"from": "2026-03-01", "to": "2026-03-31"}),
               "admin, by owner, six months": (admin, {"group_by": "owner", "from": "2026-01-01", "to": "2026-06-30"}),
               "rep, whole company": (rep, {}), "rep, by owner": (rep, {"group_by": "owner"})}
    engine = make_engine(url, pool_size=1)
    for name, (actor, params) in queries.items():
        print(f"{name:28}: {timed(engine, sales_figures.sales_cycle, actor, params, RUNS)['line']}", flush=True)
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(staged(load, run, drop))
