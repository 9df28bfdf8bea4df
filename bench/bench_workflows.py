"""Workflow engine benchmark (issue 16), figures printed, nothing asserted.

100 active workflows, 5 of which match each event (a lead's status changed: 4 skip on their conditions, 1
notifies its owner); the other 95 listen to other events and fields. Against the bare event consumer of the same
process, database and run: the kernel's consumer transaction (inbox claim, one outbox event), what every
service's queue does per event.

(1) In process, no broker (SQLite file; BENCH_BACKEND=postgresql: a PostgreSQL database of the run's own; the heap
frozen once the workflows are compiled, as the service freezes it once started): the intake and execution of
BENCH_EVENTS events, (a) one event per transaction, as the stream does when its queue is idle, and (b) BENCH_BATCH
events per transaction, as the service's batched stream applies the events that waited (`every_batch`: one inbox
statement, then `handlers.offer_to_workflows`). The bare consumer and the engine run in turns of BENCH_TURN events,
so the load of a shared machine falls on both alike; wall time and CPU time: this process's, on PostgreSQL plus its
server backends' (/proc), the GIN indexes' pending entries merged in each engine turn.
(2) Through the broker (BENCH_BROKER=0 skips it): the automation service (`nameko run`) on a vhost of its own.
Throughput: a backlog of BENCH_BROKER_EVENTS sales events published at once, until all are applied (the inbox
holds them), first with no workflow (the bare consumer: the same service, queue and database), then with the 100
workflows: events/s by wall time, and the service process's CPU time per event (/proc/<pid>/stat: its timers
included, in both phases alike), the figure a loaded machine disturbs least. Trigger-to-action: BENCH_RATE events/s (200) for BENCH_SECONDS (10), from each event's publication to
the arrival of the `automation.notification_created.v1` its workflow's notify step published after its commit,
p50/p99; the broker's own delivery of the same events to a bare queue is the baseline.

    BENCH_EVENTS=1000 BENCH_BATCH=50 BENCH_RATE=200 BENCH_SECONDS=10 .venv/bin/python bench/bench_workflows.py
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from common import percentile  # noqa: E402
from proc_cpu import process_seconds  # noqa: E402
from crm_common import heap, inbox, outbox  # noqa: E402
from crm_common.context import SYSTEM, Context  # noqa: E402
from crm_common.db import make_engine  # noqa: E402
from crm_common.envelope import new_event_id  # noqa: E402
from crm_automation import handlers  # noqa: E402
from crm_automation.domain import executor, workflows  # noqa: E402
from crm_automation.models import Base, EndedRuns, WorkflowRun  # noqa: E402

EVENTS = int(os.environ.get("BENCH_EVENTS", "1000"))
BATCH = int(os.environ.get("BENCH_BATCH", "50"))
TURN = int(os.environ.get("BENCH_TURN", "50"))
RATE = float(os.environ.get("BENCH_RATE", "200"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
BROKER_EVENTS = int(os.environ.get("BENCH_BROKER_EVENTS", "2000"))
TAG = "Bench Co"


def database():
    if os.environ.get("BENCH_BACKEND") == "postgresql":
        from crm_common.testing.harness import PgDatabases
        pg = PgDatabases(["automation"], prefix=f"bench_wf_{os.getpid()}").create()
        return pg.url("automation"), pg.drop
    directory = tempfile.mkdtemp(prefix="bench-workflows-")
    return f"sqlite:///{directory}/automation.db", lambda: None


def transact(engine):
    def run(fn, *args):
        with Session(engine, expire_on_commit=False) as session:
            session.info["crm_outbox"] = []

            def emit(type_, data, actor=None):
                return outbox.record(session, Base.metadata, "automation", type_, data, actor, None)
            with session.begin():
                result = fn(Context(session, SYSTEM, emit, None), *args)
                outbox.write_recorded(session, Base.metadata)
            return result
    return run


def definitions() -> list[dict]:
    """100 active workflows: 95 elsewhere, 5 on lead status changes (4 skip on their conditions, 1 notifies)."""
    found = []
    for n in range(95):
        trigger = ({"type": "event", "event": f"sales.other_{n}.v1"} if n % 2 else
                   {"type": "field_change", "resource": "lead", "field": f"field_{n}"})
        found.append({"name": f"elsewhere {n}", "trigger": trigger, "active": True,
                      "actions": [{"type": "notify", "users": ["u"], "title": "x"}]})
    for n in range(5):
        company = TAG if n == 0 else f"Other {n}"
        found.append({"name": f"status {n}", "active": True,
                      "trigger": {"type": "field_change", "resource": "lead", "field": "status"},
                      "conditions": {"all": [{"field": "company", "op": "eq", "value": company}]},
                      "actions": [{"type": "notify", "users": ["owner-1"], "title": "{{ record.company }}"}]})
    return found


def data(n: int) -> dict:
    return {"id": f"lead-{n}", "company": TAG, "status": "qualified", "owner_id": "owner-1", "changed_fields": ["status"]}


def envelope(n: int) -> dict:
    return {"event_id": new_event_id(), "type": "sales.lead_updated.v1", "occurred_at": None, "producer": "sales",
            "actor": None, "request_id": None, "entity": "lead", "action": "update", "data": data(n)}


def bare(ctx, envs: list[dict]) -> None:
    """The bare consumer's transaction: each event claimed in the inbox, one outbox event each."""
    if len(envs) == 1:
        inbox.claim(ctx.session, Base.metadata, envs[0])
    else:
        inbox.claim_many(ctx.session, Base.metadata, envs)
    for env in envs:
        ctx.emit("automation.notification_created.v1", {"id": env["event_id"], "user_id": "u", "kind": "workflow"})


def with_workflows(ctx, envs: list[dict]) -> None:
    """The automation service's: the same claim, then the workflows' intake of the events (its stream's
    `handlers.offer_to_workflows`)."""
    if len(envs) == 1:
        inbox.claim(ctx.session, Base.metadata, envs[0])
    else:
        inbox.claim_many(ctx.session, Base.metadata, envs)
    handlers.offer_to_workflows(ctx, envs)


def server_cpu(engine) -> float:
    """On PostgreSQL, the CPU seconds the server backends of this database have used so far (0 elsewhere)."""
    if engine.dialect.name != "postgresql":
        return 0.0
    with engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars()
        return sum(process_seconds(pid) for pid in pids)


def gin_pending(ctx) -> None:
    """Merge the pending entries of the database's GIN indexes (if any) now, in the engine's turn: work a GIN
    index defers to a later insert or to autovacuum, counted where it is owed."""
    if ctx.session.get_bind().dialect.name == "postgresql":
        ctx.session.execute(text("SELECT gin_clean_pending_list(indexrelid) FROM pg_index JOIN pg_class c "
                                 "ON c.oid = indexrelid JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'gin'"))


def in_turns(tx, per_transaction: int, counter: list[int], engine) -> dict:
    """Bare consumer and engine in turns of TURN events; events/s by wall time and by this process's CPU time (on
    PostgreSQL plus its server backends')."""
    spent = {"bare": [0.0, 0.0], "engine": [0.0, 0.0]}
    done = 0
    while done < EVENTS:
        for kind, fn in (("bare", bare), ("engine", with_workflows)):
            wall, cpu = time.perf_counter(), time.process_time() + server_cpu(engine)
            for _ in range(0, TURN, per_transaction):
                envs = [envelope(counter[0] + i) for i in range(per_transaction)]
                counter[0] += per_transaction
                tx(fn, envs)
            if kind == "engine":  # what the intake left for the executor (nothing here: notify is local)
                while executor.sweep(tx, None, limit=200):
                    pass
                tx(gin_pending)
            spent[kind][0] += time.perf_counter() - wall
            spent[kind][1] += time.process_time() + server_cpu(engine) - cpu
        done += TURN
    return {kind: (done / wall, done / cpu) for kind, (wall, cpu) in spent.items()}


def in_process() -> None:
    url, cleanup = database()
    engine = make_engine(url)
    try:
        Base.metadata.create_all(engine)
        tx = transact(engine)
        for body in definitions():
            tx(workflows.create, body)
        counter = [0]
        tx(with_workflows, [envelope(counter[0])])  # compile the workflows once
        counter[0] += 1
        heap.freeze()  # as the service does once started (crm_common.heap): collections skip what start-up made
        print(f"in process ({engine.dialect.name}, no broker), {EVENTS} events each, in turns of {TURN}; "
              f"100 active workflows (5 match each event: 4 skip, 1 notifies)")
        for label, size in (("one event per transaction", 1), (f"{BATCH} events per transaction", BATCH)):
            figures = in_turns(tx, size, counter, engine)
            (bare_wall, bare_cpu), (engine_wall, engine_cpu) = figures["bare"], figures["engine"]
            print(f"  {label}: bare consumer {bare_wall:,.0f} events/s, workflow engine {engine_wall:,.0f} events/s, "
                  f"ratio {engine_wall / bare_wall:.2f} (target >= 0.5); by CPU time {bare_cpu:,.0f} vs "
                  f"{engine_cpu:,.0f} events/s, ratio {engine_cpu / bare_cpu:.2f}; CPU per event "
                  f"{1000 / bare_cpu:.3f} vs {1000 / engine_cpu:.3f} ms")
        with Session(engine) as session:
            counted = session.scalar(select(func.count()).select_from(WorkflowRun))
            ended_rows = session.scalar(select(func.count()).select_from(EndedRuns))
        print(f"  rows of workflow_runs written: {counted:,}, and {ended_rows:,} rows of runs ended at the intake "
              f"(one per event: its 4 skipped runs and the one that notifies)")
    finally:
        engine.dispose()
        cleanup()


# -- through the broker -----------------------------------------------------------------------------------------

def through_the_broker() -> None:
    from kombu import Connection, Queue

    from crm_common import migrate, tables
    from crm_common.bus import Publisher, events_exchange
    from crm_common.config import repo_root
    from crm_common.envelope import make_envelope
    from crm_common.rpcclient import RpcPool
    from crm_common.context import Actor
    from crm_common.permissions import BUILTIN_ROLES
    from crm_common.testing.harness import ServiceProcess, Vhost

    admin = Actor(user_id="admin-1", roles=("admin",), perms=BUILTIN_ROLES["admin"])

    tmp = Path(tempfile.mkdtemp(prefix="bench-workflows-broker-"))
    vhost = Vhost().create()
    url, cleanup = database()
    proc = pool = publisher = conn = None
    engine = make_engine(url)
    try:
        migrate.upgrade("automation", url)
        proc = ServiceProcess("crm_automation.service:AutomationService",
                              {"AMQP_URI": vhost.uri, "CRM_VAR_DIR": str(tmp), "AUTOMATION_DATABASE_URL": url},
                              tmp, name="automation", config=repo_root() / "services" / "automation" / "config.yaml")
        proc.start().wait_ready("automation", timeout=90)
        pool = RpcPool(vhost.uri, timeout=30, key_file=proc.env["CRM_BUS_KEY_FILE"])
        publisher = Publisher(vhost.uri, size=1)
        inbox_table = Base.metadata.tables[tables.INBOX]
        counter = [10_000_000]

        def publish(count: int, request_ids: list[str] | None = None) -> list[dict]:
            out = []
            for i in range(count):
                out.append(make_envelope("sales.lead_updated.v1", data(counter[0]), "sales", None,
                                         request_ids[i] if request_ids else None, "lead", "update"))
                counter[0] += 1
            for start in range(0, len(out), 500):
                publisher.publish_all(out[start:start + 500])
            return out

        def applied() -> int:
            with engine.connect() as c:
                return c.execute(select(func.count()).select_from(inbox_table).where(
                    inbox_table.c.type == "sales.lead_updated.v1")).scalar()

        def backlog(before: int) -> tuple[float, float]:
            """Events/s by wall time, and the service process's CPU milliseconds per event (its own figure,
            which the other processes of a loaded machine disturb far less)."""
            started, cpu = time.perf_counter(), process_seconds(proc.proc.pid)
            publish(BROKER_EVENTS)
            while applied() < before + BROKER_EVENTS:
                if time.perf_counter() - started > 600:
                    raise RuntimeError("the service did not apply the backlog within 10 minutes")
                time.sleep(0.02)
            elapsed = time.perf_counter() - started
            return BROKER_EVENTS / elapsed, (process_seconds(proc.proc.pid) - cpu) * 1000 / BROKER_EVENTS

        (bare_rate, bare_cpu) = backlog(0)
        for body in definitions():
            pool.call("automation", "create_workflow", body, actor=admin)
        (engine_rate, engine_cpu) = backlog(BROKER_EVENTS)
        with engine.connect() as c:
            runs = c.execute(select(func.count()).select_from(WorkflowRun.__table__)).scalar()
            ended_rows = c.execute(select(func.count()).select_from(EndedRuns.__table__)).scalar()
        print(f"through the broker ({engine.dialect.name}, the service process, batched stream): a backlog of "
              f"{BROKER_EVENTS:,} events: bare consumer (no workflow) {bare_rate:,.0f} events/s, with the 100 "
              f"workflows {engine_rate:,.0f} events/s, ratio {engine_rate / bare_rate:.2f} (wall, loaded; target "
              f">= 0.5); the service's CPU per event {bare_cpu:.3f} ms vs {engine_cpu:.3f} ms, ratio "
              f"{bare_cpu / engine_cpu:.2f}; {runs:,} run rows and {ended_rows:,} rows of "
              f"runs ended at the intake written")

        # trigger-to-action at a paced rate: publication -> the notify step's event, after its commit
        published: dict[str, float] = {}
        seen_action: dict[str, float] = {}
        seen_broker: dict[str, float] = {}
        conn = Connection(vhost.uri)
        queues = [Queue(f"bench-wf-{name}-{uuid.uuid4().hex[:8]}", exchange=events_exchange(producer),
                        routing_key=key, exclusive=True, auto_delete=True)
                  for name, producer, key in (("action", "automation", "automation.notification_created.v1"),
                                              ("broker", "sales", "sales.lead_updated.v1"))]

        def arrived(target):
            def on_message(body, message):
                envelope_ = json.loads(body) if isinstance(body, (str, bytes)) else body
                request = envelope_.get("request_id")
                if isinstance(request, str) and request.startswith("bench-"):
                    target.setdefault(request, time.perf_counter())
                message.ack()
            return on_message

        consumers = [conn.Consumer([queues[0]], callbacks=[arrived(seen_action)], accept=["json"]),
                     conn.Consumer([queues[1]], callbacks=[arrived(seen_broker)], accept=["json"])]
        for consumer in consumers:
            consumer.consume()
        stop = threading.Event()

        def drain():
            while not stop.is_set():
                try:
                    conn.drain_events(timeout=0.2)
                except Exception:  # a timeout: nothing waiting
                    pass
        drainer = threading.Thread(target=drain, daemon=True)
        drainer.start()
        total, started, n = int(RATE * SECONDS), time.perf_counter(), 0
        while n < total:  # the events due by now, published together (as an outbox relay does)
            due = min(total, int((time.perf_counter() - started) * RATE) + 1)
            requests = [f"bench-{i}" for i in range(n, due)]
            at = time.perf_counter()
            for request in requests:
                published[request] = at
            publish(len(requests), requests)
            n = due
            time.sleep(max(0.0, started + n / RATE - time.perf_counter()))
        achieved = total / (time.perf_counter() - started)
        deadline = time.perf_counter() + 60
        while len(seen_action) < total and time.perf_counter() < deadline:
            time.sleep(0.05)
        stop.set()
        drainer.join(5)
        action = [(seen_action[r] - at) * 1000 for r, at in published.items() if r in seen_action]
        broker = [(seen_broker[r] - at) * 1000 for r, at in published.items() if r in seen_broker]
        print(f"trigger-to-action through the broker: {total:,} events offered at {RATE:.0f}/s for {SECONDS:.0f} s "
              f"(published at {achieved:.0f}/s): {len(action):,} notify actions seen, p50 "
              f"{percentile(action, 50):,.0f} ms, p99 {percentile(action, 99):,.0f} ms, max {max(action or [0]):,.0f} ms;"
              f" baseline, the broker's delivery to a bare queue: p50 {percentile(broker, 50):,.1f} ms, p99 "
              f"{percentile(broker, 99):,.1f} ms")
    finally:
        for closing in (conn, publisher, pool):
            if closing is not None:
                closing.close()
        if proc is not None:
            proc.stop(timeout=10)
        engine.dispose()
        vhost.delete()
        cleanup()


if __name__ == "__main__":
    in_process()
    if os.environ.get("BENCH_BROKER", "1") != "0":
        through_the_broker()
