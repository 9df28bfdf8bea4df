"""Sales lead import benchmark (issue 4), figures printed, nothing asserted.

100,000 leads as CSV through `POST /api/v1/leads/imports` (validated, deduplicated, assigned, one
`sales.leads_imported.v1` event per batch of 1,000 in the outbox), run as a job whose progress
`GET /api/v1/leads/imports/{id}` shows; rows per second from the request to the job's end, and the job alone
(the machine may be shared), then how long identity's audit trail takes to hold one entry per lead. Beside
it, in the same run and on the same PostgreSQL, a plain batched insert (execute_values, 1,000 rows a page) of
the same rows into a copy of the leads table. Target: 20,000 rows/s.
"""
from __future__ import annotations

import csv
import io
import os
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sales_common import lead_row, psycopg2_dsn, running_suite  # noqa: E402

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
FIELDS = ("first_name", "last_name", "company", "email", "phone", "country", "industry")


def make_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def baseline(dsn: str, rows: list[dict]) -> float:
    """Batched inserts of the same rows (plus id and timestamps) into a copy of the leads table."""
    import psycopg2
    from psycopg2.extras import execute_values

    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS bench_leads")
            cur.execute("CREATE TABLE bench_leads (LIKE leads INCLUDING ALL)")
        now = datetime.now(timezone.utc)
        values = [(str(uuid.uuid4()), r["first_name"], r["last_name"], r["company"], r["email"], r["phone"],
                   r["country"], r["industry"], "import", "new", 0, now, now, 1) for r in rows]
        began = time.perf_counter()
        for start in range(0, len(values), 2000):
            with conn, conn.cursor() as cur:
                execute_values(cur, "INSERT INTO bench_leads (id, first_name, last_name, company, email, phone, "
                               "country, industry, source, status, score, created_at, updated_at, version) VALUES %s",
                               values[start:start + 2000], page_size=1000)
        elapsed = time.perf_counter() - began
        with conn, conn.cursor() as cur:
            cur.execute("DROP TABLE bench_leads")
        return len(values) / elapsed
    finally:
        conn.close()


def downstream(pg, imported: int, began: float, timeout: float = 120.0) -> tuple[int, int, float]:
    """Events the import wrote, and lead create entries in identity's audit trail once it has them all."""
    import psycopg2

    def count(service: str, sql: str) -> int:
        with psycopg2.connect(psycopg2_dsn(pg.url(service))) as conn, conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()[0]

    events = count("sales", "SELECT count(*) FROM crm_outbox WHERE type = 'sales.leads_imported.v1'")
    deadline = time.perf_counter() + timeout
    while True:
        audited = count("identity", "SELECT count(*) FROM audit_entries WHERE entity_type = 'lead' AND action = 'create'")
        if audited >= imported or time.perf_counter() > deadline:
            return events, audited, time.perf_counter() - began
        time.sleep(0.5)


def main() -> int:
    rows = [lead_row(i, uuid.uuid4().hex[:4]) for i in range(ROWS)]
    body = make_csv(rows)
    print(f"{ROWS} rows, {len(body) / 1e6:.1f} MB of CSV", flush=True)
    with running_suite() as (suite, admin, pg):
        dsn = psycopg2_dsn(pg.url("sales"))
        base = baseline(dsn, rows)
        print(f"{'batched PostgreSQL insert (execute_values)':<44} {base:>9.0f} rows/s", flush=True)
        began = time.perf_counter()
        started = admin.post("/api/v1/leads/imports", json={"csv": body}, timeout=300)
        accepted = time.perf_counter() - began
        if started.status_code != 202:
            print(f"import refused: {started.status_code} {started.text[:500]}")
            return 1
        job_url = f"/api/v1/leads/imports/{started.json()['id']}"
        last = None
        while True:
            job = admin.get(job_url).json()
            if job["processed"] != last:
                last = job["processed"]
                print(f"  {time.perf_counter() - began:6.1f} s  {job['status']:<8} {job['processed']:>7}/{job['total']}",
                      flush=True)
            if job["status"] in ("done", "failed"):
                break
            time.sleep(0.5)
        elapsed = time.perf_counter() - began
        rate = ROWS / elapsed
        job_seconds = (datetime.fromisoformat(job["finished_at"].replace("Z", "+00:00"))
                       - datetime.fromisoformat(job["started_at"].replace("Z", "+00:00"))).total_seconds()
        print(f"{'import route, request to job done':<44} {rate:>9.0f} rows/s  ({elapsed:.1f} s; request "
              f"accepted in {accepted:.1f} s; the job itself {ROWS / job_seconds:.0f} rows/s)")
        print(f"job: {job['status']}, {job['succeeded']} imported, {job['failed']} failed, result {job['result']}, first errors {job['errors'][:2]} last {job['errors'][-1:]}")
        print(f"import vs batched insert: {rate / base:.2f}; target 20,000 rows/s: "
              f"{'met' if rate >= 20000 else 'not met'} ({rate / 20000:.2f})", flush=True)
        events, audited, waited = downstream(pg, job["succeeded"], began)
        print(f"sales.leads_imported.v1 events written: {events}; lead create entries in the audit trail: {audited} "
              f"of {job['succeeded']} ({waited:.1f} s after the request)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
