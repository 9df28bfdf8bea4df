"""A workflow's run log over a large `workflow_runs_ended` on PostgreSQL (issue 16), figures printed, nothing asserted.

BENCH_ROWS (1,000,000) rows of ended runs, one per event, 4 workflow ids each drawn from 100 common workflows, one
row in BENCH_RARE_EVERY (20,000) also holding a rare workflow's run; `ANALYZE`d. Then a first page of 50 runs
(the run log's newest first, `domain.ended.page`) for the rare workflow, a common one and a workflow with no ended
run, each BENCH_REPEAT times (wall ms: min / median), and `EXPLAIN (ANALYZE, BUFFERS)` of the statement it ran
for the rare one. The database is kept between runs (BENCH_DB, filled once), so the code of before and after
(`PYTHONPATH=<old checkout>/services/automation/src`) read the same rows in turn; the model's indexes missing from
the table are created first, with the statistics target the migration sets, timed (an upgrade's cost on a table
of that size, ANALYZE included).

    BENCH_ROWS=1000000 .venv/bin/python bench/bench_run_log_ended.py   # BENCH_DROP=1 drops the database after
"""
from __future__ import annotations

import os
import statistics
import time

from sqlalchemy import event, inspect, text
from sqlalchemy.orm import Session

from crm_common.db import make_engine
from crm_automation.domain import ended
from crm_automation import models
from crm_automation.models import EndedRuns

ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
DB = os.environ.get("BENCH_DB", "crm_bench_run_log_ended")
ROWS, RARE_EVERY = int(os.environ.get("BENCH_ROWS", "1000000")), int(os.environ.get("BENCH_RARE_EVERY", "20000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "7"))
COMMON = [f"00000000-0000-7000-8000-{n:012x}" for n in range(100)]
RARE, NONE = "00000000-0000-7000-9000-000000000001", "00000000-0000-7000-9000-000000000002"
FILL = """
INSERT INTO workflow_runs_ended (id, created_at, trigger_event_id, trigger_type, resource, record_id, depth, status,
                                 workflow_ids, runs)
SELECT lpad(to_hex(i), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(i), 8, '0') || '0000',
       now() - (:rows - i) * interval '100 milliseconds', 'event-' || i, 'sales.lead_updated.v1', 'lead',
       'lead-' || (i % 5000), 0, 'skipped',
       ' ' || array_to_string(ids, ' ') || ' ',
       (SELECT json_agg(json_build_array(w, 1, '[]'::json)) FROM unnest(ids) w)
FROM (SELECT i, (SELECT array_agg(w ORDER BY k) FROM unnest(
                   ARRAY[:c0 || lpad(to_hex(i % 100), 12, '0'), :c0 || lpad(to_hex((i * 7 + 1) % 100), 12, '0'),
                         :c0 || lpad(to_hex((i * 13 + 2) % 100), 12, '0')]
                   || CASE WHEN i % :rare_every = 0 THEN ARRAY[:rare] ELSE ARRAY[:c0 || lpad(to_hex((i * 31 + 3)
                      % 100), 12, '0')] END) WITH ORDINALITY AS t(w, k)) AS ids
      FROM generate_series(1, :rows) AS i) AS s
"""


def database():
    admin = make_engine(ADMIN)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": DB}).scalar():
            conn.execute(text(f'CREATE DATABASE "{DB}"'))
    admin.dispose()
    engine = make_engine(f"postgresql+psycopg2://postgres@127.0.0.1:5432/{DB}")
    if not inspect(engine).has_table("workflow_runs_ended"):
        EndedRuns.__table__.create(engine)  # with the indexes of this code's model
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text(FILL), {"rows": ROWS, "rare_every": RARE_EVERY, "rare": RARE,
                                      "c0": COMMON[0][:-12]})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE workflow_runs_ended"))
        print(f"filled {ROWS:,} rows in {time.perf_counter() - started:.1f} s")
    have = {i["name"] for i in inspect(engine).get_indexes("workflow_runs_ended")}
    for index in EndedRuns.__table__.indexes:
        if index.name not in have:
            started = time.perf_counter()
            index.create(engine)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                if index.name == "ix_runs_ended_workflows":  # as the migration and the model's create do
                    conn.execute(text(models.ENDED_WORKFLOW_IDS_STATISTICS))
                conn.execute(text("ANALYZE workflow_runs_ended"))
            print(f"created {index.name} in {time.perf_counter() - started:.1f} s")
    return engine


def main():
    engine = database()
    with engine.connect() as conn:
        print("rows:", conn.execute(text("SELECT count(*) FROM workflow_runs_ended")).scalar(),
              "| indexes:", ", ".join(sorted(i["name"] for i in inspect(engine).get_indexes("workflow_runs_ended"))))
    seen = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append((a[2], a[3])))
    for name, workflow_id in (("rare (50 rows)", RARE), ("common", COMMON[5]), ("no ended run", NONE)):
        times, found = [], 0
        for _ in range(REPEAT):
            seen.clear()
            with Session(engine) as session:
                started = time.perf_counter()
                found = len(ended.page(session, {}, workflow_id, None, True, 51))
                times.append((time.perf_counter() - started) * 1000)
        print(f"first page of 50, {name}: {found} runs, {min(times):.1f} / {statistics.median(times):.1f} ms "
              f"(min / median of {REPEAT}), {len(seen)} statement(s)")
        if workflow_id == RARE:
            statement, params = seen[0]
            with engine.connect() as conn:
                plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params).scalars().all()
            print("  " + "\n  ".join(plan))
    engine.dispose()
    if os.environ.get("BENCH_DROP") == "1":
        admin = make_engine(ADMIN)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
