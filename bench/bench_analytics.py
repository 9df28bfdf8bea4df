"""Analytics benchmark (issue 14, item 10), figures printed, nothing asserted. PostgreSQL, a database of its own.

Scale: BENCH_ANALYTICS_OPPORTUNITIES opportunities (each: created, one stage change, a third won or lost, so
about 2.3 events each) and BENCH_ANALYTICS_EVENTS events in all (the rest: tickets opened, activities logged
and campaign sends, in turn). The events are fed as the consumer applies a batch: kept in the log, which claims them
(unique by event id), and projected (`log.keep_many`: one bulk insert of the log rows, one bulk upsert per read model), in
transactions of BENCH_ANALYTICS_TX events; beside each, in the same run, a bare batched insert
(`crm_common.bulk.insert_rows`) of the same log rows into a copy of the log table: the ratio of the two (target
>= 0.5). For the figure before batching, the first BENCH_ANALYTICS_SINGLE events also go one a transaction
(as the stream applied them before) into a database of their own. Then each figure's domain query (the SQL a
route runs, without HTTP and RPC) BENCH_ANALYTICS_RUNS times as an admin and as a rep: p50 and p99 (target
p50 <= 200 ms, p99 <= 1 s); then a rebuild of the whole log (`rebuild.run`, the job): events per second. The
lag from a producer's commit is bench_analytics_lag.py. BENCH_ANALYTICS_RUNS=0 and
BENCH_ANALYTICS_REBUILD=0 leave out the figures and the rebuild (the projection's ratio alone). The rebuild prints
its progress every BENCH_ANALYTICS_PROGRESS seconds (default 60: a rate over a prefix when the whole log cannot be
waited for). At full scale: BENCH_ANALYTICS_KEEP=1 keeps the database (its URL printed) and
BENCH_ANALYTICS_URL=<that URL> runs the figures (and the rebuild unless 0) over it again, migrated to the head, with
the code of that run, without feeding anything (BENCH_ANALYTICS_FIGURES: the figures to run, names as printed, comma
separated; default every one). BENCH_ANALYTICS_FEED=log (at full scale, where feeding 10,000,000
events through the live path alone takes hours on a loaded machine): the events are bulk-inserted into the log (the
bare insert's path, transactions of BENCH_ANALYTICS_TX) and the read models are made by the rebuild of the whole
log (the projection's code, the rebuild's own transactions): its events/s, then the figures over them.
BENCH_ANALYTICS_TICKET_ACCOUNTS=N: each ticket opened carries one of N accounts (default 0: none, as before).
"""
from __future__ import annotations

import os
import random
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import percentile  # noqa: E402
from proc_cpu import process_seconds  # noqa: E402
from crm_common.envelope import new_event_id  # noqa: E402  (the ids the services' events carry)

OPPS = int(os.environ.get("BENCH_ANALYTICS_OPPORTUNITIES", os.environ.get("BENCH_ANALYTICS_OPPS", "1000000")))
EVENTS = int(os.environ.get("BENCH_ANALYTICS_EVENTS", str(OPPS * 10)))
SINGLE = int(os.environ.get("BENCH_ANALYTICS_SINGLE", "2000"))
TX = int(os.environ.get("BENCH_ANALYTICS_TX", "500"))
RUNS = int(os.environ.get("BENCH_ANALYTICS_RUNS", "15"))  # 0: no figures
REBUILD = os.environ.get("BENCH_ANALYTICS_REBUILD", "1") != "0"  # 0: no rebuild (the projection's figures alone)
PROGRESS = float(os.environ.get("BENCH_ANALYTICS_PROGRESS", "60"))  # seconds between the rebuild's progress lines
KEEP = os.environ.get("BENCH_ANALYTICS_KEEP", "0") != "0"  # 1: the database is kept, its URL printed
URL = os.environ.get("BENCH_ANALYTICS_URL", "")  # a kept database: figures (and rebuild) only, nothing fed
FIGURES = [f.strip() for f in os.environ.get("BENCH_ANALYTICS_FIGURES", "").split(",") if f.strip()]
TICKET_ACCOUNTS = int(os.environ.get("BENCH_ANALYTICS_TICKET_ACCOUNTS", "0"))  # tickets' accounts (0: none)
FEED = os.environ.get("BENCH_ANALYTICS_FEED", "live")  # live: the projection against the bare insert; log: see above
OWNERS = [str(uuid.UUID(int=n + 1)) for n in range(200)]
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
STAGES = ("prospecting", "qualification", "proposal", "negotiation")


def envelopes():
    rnd = random.Random(7)
    for i in range(OPPS):
        oid, owner, at = str(uuid.uuid4()), rnd.choice(OWNERS), T0 + timedelta(minutes=i % 400000)
        data = {"id": oid, "name": f"Deal {i}", "owner_id": owner, "team_id": owner[-1], "territory_id": None,
                "amount": f"{rnd.randint(100, 100000)}.00", "currency": "EUR", "stage": "prospecting",
                "probability": 10, "expected_close_date": "2026-12-31", "campaign_id": None, "closed_at": None}
        yield _env("sales.opportunity_created.v1", data, at)
        to = rnd.choice(STAGES[1:])
        yield _env("sales.opportunity_stage_changed.v1", {"id": oid, "from_stage": "prospecting", "to_stage": to,
                                                          "probability": 50, "amount": data["amount"],
                                                          "currency": "EUR", "owner_id": owner},
                   at + timedelta(days=3))
        if i % 3 == 0:
            won = rnd.random() < 0.4
            closed = at + timedelta(days=20)
            yield _env("sales.opportunity_won.v1" if won else "sales.opportunity_lost.v1",
                       {**data, "stage": "closed_won" if won else "closed_lost", "probability": 100 if won else 0,
                        "closed_at": closed.isoformat().replace("+00:00", "Z")}, closed)
    made = OPPS + OPPS * 4 // 3  # about the opportunities' events (created, stage change, a third closed)
    campaigns = [str(uuid.UUID(int=10_000 + n)) for n in range(20)]
    for i in range(max(0, EVENTS - made)):
        at, owner = T0 + timedelta(minutes=i % 400000), rnd.choice(OWNERS)
        if i % 3 == 0:
            ticket = {"id": str(uuid.uuid4()), "number": f"T{i}", "status": "new",
                      "channel": rnd.choice(("email", "phone", "web")), "assignee_id": owner, "sla_policy_id": "p"}
            if TICKET_ACCOUNTS:
                ticket["account_id"] = f"acc-{rnd.randrange(TICKET_ACCOUNTS)}"
            yield _env("service_desk.ticket_opened.v1", ticket, at)
        elif i % 3 == 1:
            yield _env("sales.activity_logged.v1", {"id": str(uuid.uuid4()), "owner_id": owner, "type": "call",
                                                    "account_id": None}, at)
        else:
            yield _env("marketing.email_sent.v1", {"campaign_id": rnd.choice(campaigns), "variant_id": None,
                                                   "is_test": False}, at)


def _env(type_, data, at):
    return {"event_id": new_event_id(), "type": type_, "producer": type_.split(".")[0],
            "occurred_at": at.isoformat().replace("+00:00", "Z"), "actor": {"user_id": "bench"}, "data": data}


def main() -> int:
    from crm_common import migrate
    from crm_common.db import make_engine
    from crm_common.testing.harness import PgDatabases

    pg = None if URL else PgDatabases(["analytics"], prefix=f"bench_analytics_{os.getpid()}").create()
    try:
        url = URL or pg.url("analytics")
        migrate.upgrade("analytics", url)
        engine = make_engine(url, pool_size=4)
        if FEED == "log":  # the read models are the rebuild's (over a kept database: a rebuild, then the figures)
            _rebuild(engine, _log_only(engine) if not URL else _logged(engine))
            _figures(url)
        else:
            count = _feed(engine, url, pg) if not URL else _logged(engine)
            _figures(url)
            if REBUILD:
                _rebuild(engine, count)
        engine.dispose()
    finally:
        if pg is not None and KEEP:
            print(f"database kept: {url}")
        elif pg is not None:
            pg.drop()
    return 0


def _logged(engine) -> int:
    from sqlalchemy import text
    with engine.begin() as conn:
        return conn.execute(text("SELECT count(*) FROM an_events")).scalar()


def _log_only(engine) -> int:
    """Every event bulk-inserted into the log, nothing projected: events logged."""
    from sqlalchemy.orm import Session

    from crm_common.bulk import insert_rows

    from crm_analytics.domain import log
    from crm_analytics.models import EVENTS
    batch, count, started = [], 0, time.perf_counter()
    for env in envelopes():
        batch.append(log.row_of(env))
        if len(batch) == TX:
            with Session(engine) as session, session.begin():
                insert_rows(session, EVENTS, batch)
            count, batch = count + len(batch), []
            if count % 1_000_000 == 0:
                print(f"  ... {count:,} events logged ({time.perf_counter() - started:.0f} s)", flush=True)
    if batch:
        with Session(engine) as session, session.begin():
            insert_rows(session, EVENTS, batch)
        count += len(batch)
    print(f"log alone (bulk insert, {TX} events a transaction): {count:,} events in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return count


def _feed(engine, url, pg) -> int:
    """The projection against the bare insert, then the first SINGLE events one a transaction: events fed."""
    from sqlalchemy import Table, text

    from crm_common import heap
    from crm_common.db import make_engine

    from crm_analytics.domain import log
    from crm_analytics.models import EVENTS, Base
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_events (LIKE an_events INCLUDING ALL)"))
    copy = Table("bench_events", Base.metadata, *[col.copy() for col in EVENTS.columns])
    # each path on a connection of its own, so that the CPU its PostgreSQL backend spends is its own
    live_engine, bare_engine = make_engine(url, pool_size=1), make_engine(url, pool_size=1)
    live_cpu, bare_cpu = _Cpu(live_engine), _Cpu(bare_engine)
    heap.freeze()  # as a service does once started (crm_common.heap): collections skip what start-up made
    batch, count, live, bare, started, shown = [], 0, 0.0, 0.0, time.perf_counter(), 0
    for env in envelopes():
        batch.append(env)
        if len(batch) == TX:
            rows = [log.row_of(e) for e in batch]  # the baseline's rows, formed outside its measure
            live, bare = live + live_cpu.run(_keep, batch), bare + bare_cpu.run(_bare, copy, rows)
            count, batch = count + len(batch), []
            if count - shown >= 200_000:
                shown = count
                print(f"  ... {count:,} events fed ({time.perf_counter() - started:.0f} s)", flush=True)
    if batch:
        rows = [log.row_of(e) for e in batch]
        live, bare = live + live_cpu.run(_keep, batch), bare + bare_cpu.run(_bare, copy, rows)
        count += len(batch)
    print(f"projection (log + read models, {TX} events a transaction): {count:,} events in {live:.1f} s "
          f"= {count / live:,.0f} events/s; bare batched insert of the same log rows: {count / bare:,.0f} rows/s;"
          f" ratio {bare / live:.3f} (target >= 0.5; wall clock, loaded)")
    print(f"live path per event: {live / count * 1000:.3f} ms")
    live_total, bare_total = live_cpu.total(), bare_cpu.total()
    print(f"CPU per event (this process + its PostgreSQL backend, less disturbed by the load): projection "
          f"{live_cpu.client / count * 1e6:.1f} + {live_cpu.server / count * 1e6:.1f} us, bare insert "
          f"{bare_cpu.client / count * 1e6:.1f} + {bare_cpu.server / count * 1e6:.1f} us; CPU ratio "
          f"{bare_total / live_total:.3f}")
    live_engine.dispose()
    bare_engine.dispose()
    single = _one_by_one(url, pg)
    if single:
        print(f"before batching (one event a transaction, first {single[0]:,} events, a database of their own): "
              f"{single[0] / single[1]:,.0f} events/s; ratio to the bare insert {bare / count / (single[1] / single[0]):.3f}")
    return count


def _figures(url) -> None:
    """Each figure's domain query RUNS times as an admin and as a rep."""
    from sqlalchemy.orm import Session

    from crm_common.context import Actor, Context
    from crm_common.db import make_engine
    from crm_common.permissions import BUILTIN_ROLES

    from crm_analytics.domain import intelligence, marketing_figures, sales_figures, service_figures
    import crm_analytics_contracts as c
    admin = Actor(user_id="adm", roles=("admin",), perms=BUILTIN_ROLES["admin"])
    rep = Actor(user_id=OWNERS[0], roles=("sales_rep",), perms=BUILTIN_ROLES["sales_rep"])
    q = c.FigureQuery().load({})
    calls = {"pipeline": (sales_figures.pipeline, q), "funnel": (sales_figures.funnel, q),
             "win-rate by owner": (sales_figures.win_rate, c.FigureQuery().load({"group_by": "owner"})),
             "sales-cycle": (sales_figures.sales_cycle, q),
             "sales-cycle by owner": (sales_figures.sales_cycle, c.FigureQuery().load({"group_by": "owner"})),
             "forecast": (sales_figures.forecast, q), "service": (service_figures.service, q),
             "service by owner": (service_figures.service, c.FigureQuery().load({"group_by": "owner"})),
             "marketing": (marketing_figures.marketing, q),
             "rfm": (intelligence.rfm, c.FigureQuery().load({"to": "2026-12-31"}))}
    figures = make_engine(url, pool_size=1)  # one connection: the CPU its backend spends is the figures'
    for name, (fn, query) in (calls.items() if RUNS > 0 else ()):
        if FIGURES and name not in FIGURES:
            continue
        for who, actor in (("admin", admin), ("rep", rep)):
            times, cpu = [], _Cpu(figures)

            def call(bound):
                with Session(bound) as session, session.begin():
                    t = time.perf_counter()
                    fn(Context(session, actor, None, "bench"), query)
                    return (time.perf_counter() - t) * 1000
            for _ in range(RUNS):
                times.append(cpu.run(call))
            print(f"{name:20} as {who:5}: p50 {percentile(times, 50):8.1f} ms  p99 {percentile(times, 99):8.1f} ms"
                  f"  (target p50 <= 200, p99 <= 1000; wall, loaded); CPU a call {cpu.total() / RUNS * 1000:6.1f} ms")
    figures.dispose()


def _rebuild(engine, count) -> None:
    """A rebuild of the whole log (the job), its progress printed every PROGRESS seconds."""
    import threading

    from crm_common import jobs
    from crm_common.context import SYSTEM

    from crm_analytics.domain import rebuild
    from crm_analytics.models import Base
    with engine.begin() as conn:
        job = jobs.create(conn, Base.metadata, rebuild.KIND, payload={}, total=count, actor=SYSTEM)
    started, cpu, finished = time.perf_counter(), time.process_time(), threading.Event()

    def watch():
        while not finished.wait(PROGRESS):
            with engine.connect() as conn:
                done = jobs.get(conn, Base.metadata, job["id"], kind=rebuild.KIND)["processed"] or 0
            took = time.perf_counter() - started
            print(f"  ... rebuild: {done:,} events in {took:.0f} s = {done / took:,.0f} events/s", flush=True)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    done = jobs.run(engine, Base.metadata, job["id"], rebuild.run)
    took = time.perf_counter() - started
    finished.set()
    print(f"rebuild of the whole log: {done['processed']} events in {took:.1f} s = {done['processed'] / took:,.0f}"
          f" events/s ({done['status']}); this process's CPU {(time.process_time() - cpu) / max(done['processed'], 1) * 1e6:.1f}"
          " us an event")


class _Cpu:
    """CPU seconds a path spends: this process's (time.process_time) and its PostgreSQL backend's (/proc/<pid>/stat:
    utime + stime; 0 when the server is not on this machine)."""
    def __init__(self, engine):
        from sqlalchemy import text
        self.engine, self.client, self.server = engine, 0.0, 0.0
        with engine.connect() as conn:
            self.pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()

    def _backend(self) -> float:
        return process_seconds(self.pid)

    def run(self, fn, *args) -> float:
        cpu, backend = time.process_time(), self._backend()
        took = fn(self.engine, *args)
        self.client += time.process_time() - cpu
        self.server += self._backend() - backend
        return took

    def total(self) -> float:
        return self.client + self.server


def _keep(engine, batch) -> float:
    """The consumer's transaction for a batch (the log, which claims the events, and the projection): seconds."""
    from sqlalchemy.orm import Session

    from crm_common.context import SYSTEM, Context

    from crm_analytics.domain import log
    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        log.keep_many(Context(session, SYSTEM, None, "bench"), batch)
    return time.perf_counter() - started


def _bare(engine, copy, rows) -> float:
    """The baseline: the same log rows (formed beforehand: not counted), bulk-inserted into a copy of the log
    table: seconds."""
    from sqlalchemy.orm import Session

    from crm_common.bulk import insert_rows
    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        insert_rows(session, copy, rows)
    return time.perf_counter() - started


def _one_by_one(url, pg):
    """Before batching: the first SINGLE events, one a transaction, into a fresh database; (count, seconds)."""
    if SINGLE <= 0:
        return None
    from sqlalchemy import text

    from crm_common.db import make_engine
    name = f"{url.rsplit('/', 1)[1]}_single"
    admin = make_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        from crm_common import migrate
        single_url = url.rsplit("/", 1)[0] + "/" + name
        migrate.upgrade("analytics", single_url)
        engine = make_engine(single_url, pool_size=2)
        took, count = 0.0, 0
        for env in envelopes():
            took += _keep(engine, [env])
            count += 1
            if count >= SINGLE:
                break
        engine.dispose()
        return count, took
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
