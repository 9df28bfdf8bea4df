"""Webhook deliveries per second through the integration service's sender path (claim from the delivery
table, sign, check and pin the address, POST, settle) against a bare HTTP client posting the same bodies
with the same concurrency, in the same run, to the same local receiver (a separate process answering 204,
HTTP/1.1 keep-alive as receivers are; both clients keep their connections alive).

Then event-to-delivery latency: events kept in the feed and fanned out (what the service's consumer does
with each event) at CRM_BENCH_WEBHOOK_RATE (200) events/s for CRM_BENCH_WEBHOOK_SECONDS (5), while the send
loop runs as the service runs it (a tick every 0.01 s while busy): p50 and p99 from the event's commit to
the receiver's answer. Not measured: the broker in front of the consumer.

Then the claim's cost against the backlog: one claim of 150 (the send loop's largest at concurrency 50; select
and mark, rolled back), median of 7, with 150 due deliveries (the baseline) and with CRM_BENCH_WEBHOOK_BACKLOG
(100,000) due, then with 150 due after those were all delivered (the delivery log's history), then with 150 due
beside BACKLOG waiting for a paused webhook (paused the way `webhooks.update` pauses, once they were queued): the
ratios should stay near 1 (the claim walks an index of the unsettled deliveries up to what it takes, never
sorting the backlog, and a paused webhook's are held out of it). CPU (time.process_time) beside the wall clock.
CRM_BENCH_WEBHOOK_CLAIM_ONLY=1: the claim's figures only.

Both sides run green (eventlet, as the service does). Besides wall-clock rates (loaded machine), the CPU time
of this process per delivery (time.process_time: the sender path or the bare client, the receiver excluded;
on PostgreSQL the server's own CPU is not in it). On PostgreSQL the seeded tables are analyzed first, as
autovacuum does within a minute on a live table. Scale: CRM_BENCH_WEBHOOKS (deliveries, 400),
CRM_BENCH_WEBHOOK_CONCURRENCY (20). Database: a SQLite file, or INTEGRATION_DATABASE_URL.
"""
from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import http.client  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

from sqlalchemy.orm import Session  # noqa: E402

N = int(os.environ.get("CRM_BENCH_WEBHOOKS", "400"))
CONCURRENCY = int(os.environ.get("CRM_BENCH_WEBHOOK_CONCURRENCY", "20"))
RATE = float(os.environ.get("CRM_BENCH_WEBHOOK_RATE", "200"))
SECONDS = float(os.environ.get("CRM_BENCH_WEBHOOK_SECONDS", "5"))
BACKLOG = int(os.environ.get("CRM_BENCH_WEBHOOK_BACKLOG", "100000"))

RECEIVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
class S(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True
s = S(("127.0.0.1", 0), H); print(s.server_address[1], flush=True); s.serve_forever()
"""


def main() -> None:
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    port = int(receiver.stdout.readline())
    os.environ["CRM_WEBHOOK_ALLOW_HOSTS"] = f"127.0.0.1:{port}"
    url = f"http://127.0.0.1:{port}/hook"
    from crm_common.context import SYSTEM, Context
    from crm_common.db import make_engine, utcnow
    from crm_common.testing.events import Events
    from crm_integration.domain import deliveries, signing
    from crm_integration.models import Base, Delivery, Webhook
    from crm_integration.sender import SendLoop
    tmp = tempfile.mkdtemp()
    engine = make_engine(os.environ.get("INTEGRATION_DATABASE_URL") or f"sqlite:///{tmp}/bench.db")
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    envelopes = [{"event_id": str(uuid.uuid4()), "type": "sales.lead_created.v1", "occurred_at": "2026-12-04T10:00:00Z",
                  "producer": "sales", "data": {"id": str(uuid.uuid4()), "name": "x" * 200}} for _ in range(N)]
    try:
        if os.environ.get("CRM_BENCH_WEBHOOK_CLAIM_ONLY") == "1":
            with Session(engine) as session, session.begin():
                hook = Webhook(url=url, events=["sales.*"], secret=signing.new_secret(), active=True)
                session.add(hook)
                session.flush()
                hook_id = hook.id
            claim_cost(engine, hook_id)
            return
        # baseline: a bare client posting the same bodies, same concurrency, a kept-alive connection per thread
        bodies = [signing.body(e, "standard") for e in envelopes]
        idle = []

        def bare(body):
            conn = idle.pop() if idle else http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            conn.request("POST", "/hook", body=body, headers={"content-type": "application/json"})
            conn.getresponse().read()
            idle.append(conn)
        pool = eventlet.GreenPool(CONCURRENCY)
        started, cpu = time.perf_counter(), time.process_time()
        list(pool.imap(bare, bodies))
        bare_rate = N / (time.perf_counter() - started)
        bare_cpu = (time.process_time() - cpu) / N * 1000
        for conn in idle:
            conn.close()

        with Session(engine) as session, session.begin():
            hook = Webhook(url=url, events=["sales.*"], secret=signing.new_secret(), active=True, format="standard")
            session.add(hook)
            session.flush()
            hook_id = hook.id
            now = utcnow()
            session.add_all([Delivery(id=str(uuid.uuid4()), webhook_id=hook.id, event_id=e["event_id"],
                                      event_type=e["type"], seq=n + 1, record_key=e["data"]["id"], envelope=e,
                                      status="pending", attempts=0, next_attempt_at=now, created_at=now)
                             for n, e in enumerate(envelopes)])
        if engine.dialect.name == "postgresql":  # a live table has statistics (autovacuum analyzes it within a
            with engine.begin() as conn:          # minute); a fresh one's would plan the claim as for an empty one
                conn.exec_driver_sql("ANALYZE webhook_deliveries; ANALYZE webhooks")

        def in_transaction(fn, *args):
            with Session(engine, expire_on_commit=False) as session, session.begin():
                return fn(Context(session, SYSTEM, Events(), None), *args)

        loop = SendLoop(in_transaction, CONCURRENCY)
        started, cpu = time.perf_counter(), time.process_time()
        while loop.settled < N:
            eventlet.sleep(0.002 if not loop.tick() else 0)  # the senders run while this loop sleeps
        sender_rate = N / (time.perf_counter() - started)
        sender_cpu = (time.process_time() - cpu) / N * 1000
        with Session(engine) as session:
            ok = session.query(Delivery).filter_by(status="succeeded").count()
        print(f"deliveries: {N}, concurrency {CONCURRENCY}, succeeded {ok}")
        print(f"bare HTTP client:  {bare_rate:8.0f} posts/s (wall clock), {bare_cpu:.2f} ms CPU per post")
        print(f"webhook sender:    {sender_rate:8.0f} deliveries/s (wall clock; claim, sign, guard, POST, settle), "
              f"{sender_cpu:.2f} ms CPU per delivery")
        print(f"ratio sender/bare: {sender_rate / bare_rate:8.2f} (CPU per item, bare/sender: {bare_cpu / sender_cpu:.2f})")
        latency(in_transaction, SendLoop)
        claim_cost(engine, hook_id)
    finally:
        receiver.terminate()
        engine.dispose()


def latency(in_transaction, SendLoop) -> None:
    """Events at RATE/s into the feed (each fanned out to the webhook, one commit each, as the consumer does)
    while the send loop runs: p50/p99 from each event's commit to its delivery's answer."""
    from crm_integration.domain import feed, webhooks
    committed: dict[str, float] = {}
    answered: dict[str, float] = {}

    class Timed(SendLoop):
        def _deliver(self, job):
            super()._deliver(job)
            answered[job.envelope["event_id"]] = time.perf_counter()

    loop = Timed(in_transaction, CONCURRENCY)
    running = [True]

    def run_loop():
        while running[0]:
            eventlet.sleep(0.01 if loop.tick() else 0.01)
    runner = eventlet.spawn(run_loop)
    total = int(RATE * SECONDS)
    started = time.perf_counter()
    for n in range(total):
        delay = started + n / RATE - time.perf_counter()
        if delay > 0:
            eventlet.sleep(delay)
        env = {"event_id": str(uuid.uuid4()), "type": "sales.lead_updated.v1", "occurred_at": "2026-12-04T10:00:00Z",
               "producer": "sales", "data": {"id": str(uuid.uuid4()), "name": "x" * 200}}
        in_transaction(lambda ctx: webhooks.fan_out_many(ctx.session, feed.record_many(ctx.session, [env])))
        committed[env["event_id"]] = time.perf_counter()
    offered = total / (time.perf_counter() - started)
    deadline = time.perf_counter() + 30
    while len(answered) < total and time.perf_counter() < deadline:
        eventlet.sleep(0.05)
    running[0] = False
    runner.wait()
    waits = sorted((answered[e] - committed[e]) * 1000 for e in committed if e in answered)
    pick = lambda q: waits[min(len(waits) - 1, int(q * len(waits)))] if waits else float("nan")  # noqa: E731
    print(f"event-to-delivery at {offered:.0f} events/s offered ({RATE:.0f} asked), {len(waits)}/{total} delivered: "
          f"p50 {pick(0.50):.0f} ms, p99 {pick(0.99):.0f} ms (the loop's tick, 10 ms while busy, included)")


def claim_cost(engine, hook_id: str) -> None:
    """One claim of 150 (select and mark, rolled back), median of 7 in ms, with 150 due and with BACKLOG due."""
    import statistics

    from crm_common import bulk
    from crm_common.db import utcnow
    from crm_integration.domain import deliveries, webhooks
    from crm_integration.models import Delivery, Webhook

    def seed(count: int, first_seq: int, webhook_id: str = hook_id) -> None:
        now = utcnow()
        with Session(engine) as session, session.begin():
            for start in range(0, count, 10000):
                bulk.insert_rows(session, Delivery.__table__, [
                    {"id": str(uuid.uuid4()), "webhook_id": webhook_id, "event_id": str(uuid.uuid4()),
                     "event_type": "sales.lead_updated.v1", "seq": first_seq + n, "record_key": str(uuid.uuid4()),
                     "envelope": {"type": "sales.lead_updated.v1", "data": {"name": "x" * 200}}, "status": "pending",
                     "attempts": 0, "next_attempt_at": now, "created_at": now}
                    for n in range(start, min(count, start + 10000))])
        with engine.begin() as conn:  # statistics, as autovacuum or a long-lived SQLite file would have them
            conn.exec_driver_sql("ANALYZE webhook_deliveries" if engine.dialect.name == "postgresql" else "ANALYZE")

    cpu = {}

    def timed(name: str = "") -> tuple[float, int]:
        runs, cpus, taken = [], [], 0
        for _ in range(7):
            with Session(engine) as session:
                transaction = session.begin()
                started, began = time.perf_counter(), time.process_time()
                taken = len(deliveries.claim(session, 150))
                runs.append((time.perf_counter() - started) * 1000)
                cpus.append((time.process_time() - began) * 1000)
                transaction.rollback()
        cpu[name] = statistics.median(cpus)
        return statistics.median(runs), taken

    with engine.begin() as conn:
        conn.execute(Delivery.__table__.delete())
    seed(150, 10_000_000)
    small, taken_small = timed("small")
    seed(BACKLOG - 150, 10_000_150)
    large, taken_large = timed("large")
    with engine.begin() as conn:  # all delivered: a history of settled deliveries, and 150 new ones due
        conn.execute(Delivery.__table__.update().values(status="succeeded", next_attempt_at=None, attempts=1))
    seed(150, 20_000_000)
    history, taken_history = timed("history")
    print(f"claim of 150: {small:.1f} ms with 150 due ({taken_small} taken); {large:.1f} ms with "
          f"{BACKLOG:,} due ({taken_large} taken): ratio {large / small:.1f}; {history:.1f} ms with 150 due after "
          f"{BACKLOG:,} delivered ({taken_history} taken): ratio {history / small:.1f}")
    with engine.begin() as conn:  # the history gone; BACKLOG queued for a webhook, paused since, then 150 due
        conn.execute(Delivery.__table__.delete())  # for the live one (after the paused backlog in due order)
    paused_id = str(uuid.uuid4())
    with Session(engine) as session, session.begin():
        session.add(Webhook(id=paused_id, url="http://127.0.0.1:9/paused", events=["sales.*"], secret="whsec_x" * 6,
                            active=True, format="standard"))
    seed(BACKLOG, 30_000_000, paused_id)  # queued while it was live
    with Session(engine) as session, session.begin():  # then paused, as PATCH {"active": false} does
        session.get(Webhook, paused_id).active = False
        if hasattr(webhooks, "hold"):  # the held backlog (absent before: the claim skipped them row by row)
            webhooks.hold(session, paused_id)
    seed(150, 40_000_000)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE webhook_deliveries" if engine.dialect.name == "postgresql" else "ANALYZE")
    paused, taken_paused = timed("paused")
    print(f"claim of 150 with {BACKLOG:,} waiting for a paused webhook: {paused:.1f} ms ({taken_paused} "
          f"taken): ratio {paused / small:.1f}; CPU a claim: {cpu['small']:.1f} ms with 150 due, {cpu['large']:.1f} "
          f"with {BACKLOG:,} due, {cpu['history']:.1f} after the history, {cpu['paused']:.1f} beside the paused "
          f"backlog: ratio {cpu['paused'] / cpu['small']:.1f}")


if __name__ == "__main__":
    main()
