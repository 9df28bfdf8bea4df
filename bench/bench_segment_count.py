"""Segment count benchmark (issue 13, 14b), figures printed, nothing asserted.

1,000,000 audience members and their activity (emails sent, opened and clicked, tickets) loaded with
`crm_common.bulk.insert_rows` into a PostgreSQL database of its own, migrated to head (the indexes are the
migrations'). Then two segments of three rules, two attributes and one behaviour each,

    all: country in (DE, FR), grade = A, clicked campaign X in the last 30 days   (a selective behaviour)
    all: country in (DE, FR, GB), score >= 30, NOT opened any email in 60 days    (a wide, negated one)

each counted with `segments.count` (the one SQL query the service runs) BENCH_SEGMENT_RUNS times: p50 and p99,
target p50 <= 1 s. Beside it, in the same run, a bare `SELECT count(*)` over the same table (the floor of any
count over the whole audience) and the ratio of the two; the member count and the plan's shape are printed.
"""
from __future__ import annotations

import hashlib
import os
import random
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import percentile  # noqa: E402
from sqlalchemy import text  # noqa: E402

MEMBERS = int(os.environ.get("BENCH_SEGMENT_MEMBERS", "1000000"))
ACTIVITY = int(os.environ.get("BENCH_SEGMENT_ACTIVITY", "2000000"))
RUNS = int(os.environ.get("BENCH_SEGMENT_RUNS", "15"))
BATCH = 50_000
COUNTRIES = ("DE", "FR", "GB", "US", "IT", "ES", "NL", "PL", "SE", "AT")
GRADES = ("A", "B", "B", "C", "C")
CAMPAIGNS = [str(uuid.UUID(int=n + 1)) for n in range(20)]
KINDS = ("email_sent", "email_sent", "email_opened", "email_clicked", "ticket_opened")
SEGMENTS = {  # three rules each, one of them behaviour: a selective behaviour, and a wide negated one
    "clicked X": {"all": [{"field": "country", "op": "in", "value": ["DE", "FR"]},
                          {"field": "grade", "op": "eq", "value": "A"},
                          {"behaviour": "clicked", "ref_id": CAMPAIGNS[0], "within_days": 30}]},
    "not opened": {"all": [{"field": "country", "op": "in", "value": ["DE", "FR", "GB"]},
                           {"field": "score", "op": "gte", "value": 30},
                           {"behaviour": "opened", "within_days": 60, "negate": True}]},
}


def load(session_factory, now) -> tuple[float, list[str]]:
    from crm_common.bulk import insert_rows
    from crm_marketing.models import AudienceActivity, AudienceMember

    rng = random.Random(13)
    began = time.perf_counter()
    ids = []
    for start in range(0, MEMBERS, BATCH):
        rows = []
        for i in range(start, min(MEMBERS, start + BATCH)):
            member_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            ids.append(member_id)
            email = f"person{i}@example{i % 89}.com"
            lead = i % 5 == 0
            rows.append({"id": member_id, "kind": "lead" if lead else "contact", "source_id": member_id,
                         "email": email, "email_hash": hashlib.sha256(email.encode()).hexdigest(),
                         "first_name": f"First{i}", "last_name": f"Last{i}", "company": f"Company {i // 4}",
                         "account_id": None if lead else f"acc-{i // 4}", "country": COUNTRIES[i % len(COUNTRIES)],
                         "industry": ("software", "retail", "energy", "finance")[i % 4],
                         "grade": None if lead else rng.choice(GRADES),
                         "lifecycle_stage": None if lead else "customer", "lead_status": "new" if lead else None,
                         "score": rng.randint(0, 100), "tags": ["vip"] if i % 50 == 0 else [],
                         "deleted_at": now if i % 40 == 0 else None, "created_at": now, "updated_at": now})
        with session_factory() as session, session.begin():
            insert_rows(session, AudienceMember.__table__, rows)
    for start in range(0, ACTIVITY, BATCH):
        rows = []
        for _ in range(start, min(ACTIVITY, start + BATCH)):
            kind = rng.choice(KINDS)
            rows.append({"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "member_id": rng.choice(ids),
                         "kind": kind, "ref_id": rng.choice(CAMPAIGNS) if kind != "ticket_opened" else None,
                         "detail": {}, "occurred_at": now - timedelta(minutes=rng.randint(0, 120 * 24 * 60))})
        with session_factory() as session, session.begin():
            insert_rows(session, AudienceActivity.__table__, rows)
    # as autovacuum leaves a loaded table: statistics and the visibility map (index-only scans need it)
    with session_factory().get_bind().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("audience_members", "audience_activity"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
    return time.perf_counter() - began, ids


def timed(call, runs: int) -> tuple[list[float], object]:
    call()  # warm the cache once
    latencies, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = call()
        latencies.append(time.perf_counter() - began)
    return latencies, result


def main() -> int:
    from sqlalchemy.orm import sessionmaker

    from crm_common import migrate
    from crm_common.db import make_engine, utcnow
    from crm_common.testing.harness import PgDatabases
    from crm_marketing.domain import segment_rules, segments

    for rules in SEGMENTS.values():
        segment_rules.check(rules)
    reuse = os.environ.get("BENCH_SEGMENT_URL")  # a database an earlier run kept (BENCH_SEGMENT_KEEP=1): no load
    pg = None if reuse else PgDatabases(["marketing"], prefix=f"bench_segment_{os.getpid()}").create()
    results = {}
    try:
        url = reuse or pg.url("marketing")
        migrate.upgrade("marketing", url)
        engine = make_engine(url)
        factory = sessionmaker(engine)
        now = utcnow()
        if not reuse:
            seconds, _ = load(factory, now)
            print(f"loaded {MEMBERS} audience members and {ACTIVITY} activity rows with insert_rows in "
                  f"{seconds:.1f} s", flush=True)
        else:
            with factory() as session:
                now = session.execute(text("SELECT max(created_at) FROM audience_members")).scalar()
        with factory() as session:
            baseline, total = timed(lambda: session.execute(text("SELECT count(*) FROM audience_members")).scalar(),
                                    RUNS)
            for name, rules in SEGMENTS.items():
                counted, members = timed(lambda rules=rules: segments.count(session, rules, now), RUNS)
                sql = str(segments.count_query(rules, now).compile(engine, compile_kwargs={"literal_binds": True}))
                plan = [row[0] for row in session.execute(text("EXPLAIN " + sql))]
                results[name] = (counted, members, plan)
        engine.dispose()
    finally:
        if pg is not None and os.environ.get("BENCH_SEGMENT_KEEP"):
            print(f"kept {url}", flush=True)
        elif pg is not None:
            pg.drop()
    base = percentile(baseline, 50)
    print(f"bare count(*) floor over {total} rows: p50 {base * 1000:7.1f} ms  "
          f"p99 {percentile(baseline, 99) * 1000:7.1f} ms")
    for name, (counted, members, plan) in results.items():
        p50 = percentile(counted, 50)
        print(f"\nsegment {name!r}: {SEGMENTS[name]}")
        print(f"  members matched: {members}")
        print(f"  count: p50 {p50 * 1000:7.1f} ms  p99 {percentile(counted, 99) * 1000:7.1f} ms  ({RUNS} runs; "
              f"target p50 <= 1000 ms: {'met' if p50 <= 1 else 'MISSED'}); ratio to the bare count(*): "
              f"{p50 / base:.2f}")
        print("  plan:\n    " + "\n    ".join(plan))
    return 0


if __name__ == "__main__":
    sys.exit(main())
