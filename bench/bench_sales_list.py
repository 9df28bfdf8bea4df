"""Sales lead list benchmark (issue 4), figures printed, nothing asserted.

1,000,000 leads in the sales service's PostgreSQL database (loaded with COPY, the indexes come from the
migrations), then the filtered, sorted, paged list through the gateway, `GET /api/v1/leads?status=new&
sort=-created_at&limit=50` and friends, as an administrator (scope all) and as a sales manager (team scope).
p50 and p99 latency per query shape; target p50 <= 50 ms. Beside it the same SQL straight on the database.
"""
from __future__ import annotations

import io
import os
import random
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import percentile  # noqa: E402
from bench_sales_common import COUNTRIES, INDUSTRIES, psycopg2_dsn, running_suite  # noqa: E402

ROWS = int(os.environ.get("BENCH_LIST_ROWS", "1000000"))
CALLS = int(os.environ.get("BENCH_LIST_CALLS", "200"))
STATUSES = ("new", "new", "contacted", "qualified", "unqualified", "converted")


def load(dsn: str, team_id: str, manager_id: str) -> float:
    import psycopg2

    teams = [team_id] + [str(uuid.uuid4()) for _ in range(4)]
    owners = {team: [manager_id if team == team_id and k == 0 else str(uuid.uuid4()) for k in range(10)]
              for team in teams}
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    rng = random.Random(42)
    began = time.perf_counter()
    conn = psycopg2.connect(dsn)
    columns = ("id", "first_name", "last_name", "company", "company_key", "email", "phone", "country", "industry",
               "source", "status", "score", "owner_id", "team_id", "created_at", "updated_at", "version")
    with conn, conn.cursor() as cur:
        for chunk in range(0, ROWS, 100_000):
            buffer = io.StringIO()
            for i in range(chunk, min(ROWS, chunk + 100_000)):
                team = teams[i % len(teams)]
                country = COUNTRIES[i % len(COUNTRIES)][0]
                created = (start + timedelta(seconds=i * 30)).isoformat()
                buffer.write("\t".join((str(uuid.uuid4()), f"First{i}", f"Last{i}", f"Company {i // 3}",
                                        f"company {i // 3}", f"lead{i}@example{i % 97}.com", "\\N", country,
                                        INDUSTRIES[i % len(INDUSTRIES)], "import", rng.choice(STATUSES),
                                        str(rng.randint(0, 100)), rng.choice(owners[team]), team, created, created,
                                        "1")) + "\n")
            buffer.seek(0)
            cur.copy_from(buffer, "leads", columns=columns)
        cur.execute("ANALYZE leads")
    conn.close()
    return time.perf_counter() - began


def measure(call, calls: int) -> dict:
    for _ in range(10):
        call()
    latencies = []
    for _ in range(calls):
        began = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - began)
    return {"p50": percentile(latencies, 50) * 1000, "p99": percentile(latencies, 99) * 1000}


def main() -> int:
    with running_suite() as (suite, admin, pg):
        team = admin.post("/api/v1/teams", json={"name": "Bench team"}).json()
        manager = admin.as_new_user(["sales_manager"], team_id=team["id"])
        dsn = psycopg2_dsn(pg.url("sales"))
        seconds = load(dsn, team["id"], manager.user["id"])
        print(f"loaded {ROWS} leads with COPY in {seconds:.1f} s ({ROWS / seconds:.0f} rows/s)", flush=True)
        shapes = {
            "status=new, newest first": {"status": "new", "sort": "-created_at", "limit": 50},
            "country=DE & status=qualified by score": {"country": "DE", "status": "qualified", "sort": "-score",
                                                       "limit": 50},
            "owner_id, newest first": {"owner_id": manager.user["id"], "sort": "-created_at", "limit": 50},
            "newest first, page 2 (cursor)": {"sort": "-created_at", "limit": 50, "cursor": "__next__"},
        }
        import psycopg2
        conn = psycopg2.connect(dsn)
        print(f"{'query':<42} {'as':<8} {'p50 ms':>8} {'p99 ms':>8}")
        worst = 0.0
        for name, params in shapes.items():
            for label, client in (("admin", admin), ("manager", manager)):
                query = dict(params)
                if query.get("cursor") == "__next__":
                    first = client.get("/api/v1/leads", params={"sort": "-created_at", "limit": 50}).json()
                    query["cursor"] = first["next_cursor"]

                def call(client=client, query=query):
                    response = client.get("/api/v1/leads", params=query)
                    assert response.status_code == 200, response.text

                figures = measure(call, CALLS)
                worst = max(worst, figures["p50"])
                print(f"{name:<42} {label:<8} {figures['p50']:>8.1f} {figures['p99']:>8.1f}", flush=True)
        with conn.cursor() as cur:
            def sql():
                cur.execute("SELECT * FROM leads WHERE status = 'new' AND deleted_at IS NULL "
                            "ORDER BY created_at DESC, id DESC LIMIT 51")
                cur.fetchall()
            figures = measure(sql, CALLS)
        conn.close()
        print(f"{'the same list as bare SQL (baseline)':<42} {'-':<8} {figures['p50']:>8.1f} {figures['p99']:>8.1f}")
        print(f"worst p50 through the gateway: {worst:.1f} ms; target 50 ms: {'met' if worst <= 50 else 'not met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
