"""Webhook deliveries per second through the integration service's sender path (claim from the delivery
table, sign, check and pin the address, POST, settle) against a bare HTTP client posting the same bodies
with the same concurrency, in the same run, to the same local receiver (a separate process answering 204,
HTTP/1.1 keep-alive as receivers are; both clients keep their connections alive).

Then event-to-delivery latency: events kept in the feed and fanned out (what the service's consumer does
with each event) at CRM_BENCH_WEBHOOK_RATE (200) events/s for CRM_BENCH_WEBHOOK_SECONDS (5), while the send
loop runs as the service runs it (a tick every 0.01 s while busy): p50 and p99 from the event's commit to
the receiver's answer. Not measured: the broker in front of the consumer.

Both sides run green (eventlet, as the service does). On PostgreSQL the seeded tables are analyzed first, as
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
        # baseline: a bare client posting the same bodies, same concurrency, a kept-alive connection per thread
        bodies = [signing.body(e, "standard") for e in envelopes]
        idle = []

        def bare(body):
            conn = idle.pop() if idle else http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            conn.request("POST", "/hook", body=body, headers={"content-type": "application/json"})
            conn.getresponse().read()
            idle.append(conn)
        pool = eventlet.GreenPool(CONCURRENCY)
        started = time.perf_counter()
        list(pool.imap(bare, bodies))
        bare_rate = N / (time.perf_counter() - started)
        for conn in idle:
            conn.close()

        with Session(engine) as session, session.begin():
            hook = Webhook(url=url, events=["sales.*"], secret=signing.new_secret(), active=True, format="standard")
            session.add(hook)
            session.flush()
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
        started = time.perf_counter()
        while loop.settled < N:
            eventlet.sleep(0.002 if not loop.tick() else 0)  # the senders run while this loop sleeps
        sender_rate = N / (time.perf_counter() - started)
        with Session(engine) as session:
            ok = session.query(Delivery).filter_by(status="succeeded").count()
        print(f"deliveries: {N}, concurrency {CONCURRENCY}, succeeded {ok}")
        print(f"bare HTTP client:  {bare_rate:8.0f} posts/s")
        print(f"webhook sender:    {sender_rate:8.0f} deliveries/s (claim, sign, guard, POST, settle)")
        print(f"ratio sender/bare: {sender_rate / bare_rate:8.2f}")
        latency(in_transaction, SendLoop)
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
        in_transaction(lambda ctx: webhooks.fan_out(ctx.session, feed.record(ctx.session, env)))
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


if __name__ == "__main__":
    main()
