"""What the analytics benches over a database loaded by SQL share (bench_analytics_cycle, bench_analytics_service):
a PostgreSQL database of their own at analytics' head, a figure timed over a few calls, the database dropped."""
from __future__ import annotations

import hashlib
import json
import time

from common import percentile


def new_database(prefix: str):
    """(url, engine) of a new analytics database migrated to the head."""
    from crm_common import migrate
    from crm_common.db import make_engine
    from crm_common.testing.harness import PgDatabases

    url = PgDatabases(["analytics"], prefix=prefix).create().url("analytics")
    migrate.upgrade("analytics", url)
    return url, make_engine(url, pool_size=1)


def vacuum(engine, count_sql: str):
    """VACUUM ANALYZE the database (as the rebuild leaves a generation), then the row of `count_sql`."""
    from sqlalchemy import text
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        return conn.execute(text(count_sql)).one()


def drop(url: str) -> int:
    from crm_common.testing.harness import PgDatabases
    name = url.rsplit("/", 1)[1]
    PgDatabases(["analytics"], prefix=name[:-len("_analytics")]).drop()
    return 0


def digest(found: dict, *left_out: str) -> str:
    """A short hash of an answer as JSON (its `as_of` and `left_out` keys left out), to compare codes."""
    kept = {k: v for k, v in found.items() if k not in ("as_of", *left_out)}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:12]


def timed(engine, figure, actor, params: dict, runs: int, *left_out: str) -> dict:
    """`figure(ctx, query)` `runs` times, each in a transaction of its own: its last answer, the digests of its
    answers, and a line of CPU a call (this process + its PostgreSQL backend), p50 and p99."""
    from sqlalchemy.orm import Session

    from crm_common.context import Context

    import crm_analytics_contracts as c
    from bench_analytics import _Cpu
    query, cpu, times, answers, last = c.FigureQuery().load(params), _Cpu(engine), [], set(), {}

    def call(bound):
        with Session(bound) as session, session.begin():
            started = time.perf_counter()
            found = figure(Context(session, actor, None, "bench"), query)
            took = (time.perf_counter() - started) * 1000
        answers.add(digest(found, *left_out))
        last["answer"] = found
        return took
    for _ in range(runs):
        times.append(cpu.run(call))
    line = (f"CPU a call {cpu.total() / runs * 1000:7.1f} ms  p50 {percentile(times, 50):7.1f} ms  "
            f"p99 {percentile(times, 99):7.1f} ms  answer {','.join(sorted(answers))}")
    return {"answer": last["answer"], "query": query, "line": line}
