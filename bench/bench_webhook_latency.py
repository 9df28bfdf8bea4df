"""Webhook event-to-delivery latency through the broker (issue 15), figures printed, nothing asserted.

The integration service runs as deployed (`nameko run`, a broker vhost of its own; SQLite file, or
PostgreSQL with BENCH_WEBHOOK_BACKEND=postgresql) with one webhook subscribed to `sales.*` pointing at a
local receiver (a separate process, HTTP/1.1 keep-alive, answering 204). Sales events are published on
RabbitMQ as the sales outbox relay publishes them, at BENCH_WEBHOOK_LATENCY_RATE events/s (200) for
BENCH_WEBHOOK_LATENCY_SECONDS (20): the service consumes each (feed, fan-out, commit), its sender claims,
signs and POSTs it. An event's latency runs from its publication to the receiver reading its delivery;
p50 and p99.

Also the CPU the service spent per delivered event while the events ran (its process's utime + stime from
/proc/<pid>/stat: consumer, feed, fan-out, sender), and on PostgreSQL that of the database's server processes
serving its database (found by their command line): CPU figures, which the load of a shared machine
disturbs less than the latencies.

Baseline in the same run: a bare bridge, a kombu consumer of a queue of its own bound to the same exchange
that POSTs each event's body to the same receiver over one kept-alive connection: the broker's delivery and
one HTTP post, nothing kept, nothing signed. The ratio is the service's p99 over the bridge's.
"""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import percentile  # noqa: E402
from proc_cpu import process_seconds  # noqa: E402

RATE = float(os.environ.get("BENCH_WEBHOOK_LATENCY_RATE", "200"))
SECONDS = float(os.environ.get("BENCH_WEBHOOK_LATENCY_SECONDS", "20"))
BACKEND = os.environ.get("BENCH_WEBHOOK_BACKEND", "sqlite")

# the receiver prints "<path> <event id> <time.time()>" for every POST it read
RECEIVER = r"""
import json, sys, time, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
out = sys.stdout
lock = threading.Lock()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        at = time.time()
        self.send_response(204); self.send_header("Content-Length", "0"); self.end_headers()
        try:
            event_id = json.loads(body).get("event_id")
        except ValueError:
            event_id = None
        with lock:
            out.write(f"{self.path} {event_id} {at}\n"); out.flush()
    def log_message(self, *a): pass
class S(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True
s = S(("127.0.0.1", 0), H); print(s.server_address[1], flush=True); s.serve_forever()
"""


def pg_backends(database: str) -> list[int]:
    """The PostgreSQL server processes serving `database` now (their title: "postgres: [cluster:] user database
    client state")."""
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    words = f.read().replace(b"\0", b" ").split()
            except OSError:
                continue
            if words[:1] == [b"postgres:"] and database.encode() in words[1:5]:  # "[15/main:] <user> <db> ..."
                pids.append(int(entry.name))
    return pids


def stages(url: str, sent: dict, arrived: dict) -> None:
    """Where an event's time went, from the delivery rows (p50 and p99 of each stage, ms): publication to its
    fan-out in the consumer's transaction (`created_at`: broker, queue, batch), fan-out to the sender's claim
    (`first_attempt_at`: commit, doorbell, claim), claim to the receiver reading it (green thread, sign, POST)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from crm_common.db import make_engine
    from crm_integration.models import Delivery

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            rows = session.execute(select(Delivery.event_id, Delivery.created_at, Delivery.first_attempt_at)).all()
    finally:
        engine.dispose()
    epoch = lambda moment: moment.timestamp() if moment.tzinfo else moment.replace(tzinfo=timezone.utc).timestamp()  # noqa: E731
    fanned, claimed, posted = [], [], []
    for event_id, created, first in rows:
        if event_id in sent and event_id in arrived and first is not None:
            fanned.append((epoch(created) - sent[event_id]) * 1000)
            claimed.append((epoch(first) - epoch(created)) * 1000)
            posted.append((arrived[event_id] - epoch(first)) * 1000)
    print("stages (ms, p50/p99): publish -> fan-out " + " / ".join(f"{percentile(fanned, q):,.0f}" for q in (50, 99))
          + ", fan-out -> claim " + " / ".join(f"{percentile(claimed, q):,.0f}" for q in (50, 99))
          + ", claim -> receiver " + " / ".join(f"{percentile(posted, q):,.0f}" for q in (50, 99)))


def main() -> int:
    from kombu import Connection, Queue
    from sqlalchemy.orm import Session

    from crm_common import migrate
    from crm_common.bus import Publisher, events_exchange
    from crm_common.config import repo_root
    from crm_common.db import make_engine
    from crm_common.envelope import make_envelope
    from crm_common.testing.harness import PgDatabases, ServiceProcess, Vhost
    from crm_integration.domain import signing
    from crm_integration.models import Webhook

    tmp = Path(tempfile.mkdtemp(prefix="bench-webhook-latency-"))
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    port = int(receiver.stdout.readline())
    arrived: dict[tuple[str, str], float] = {}

    def read_receiver():
        for line in receiver.stdout:
            path, event_id, at = line.split()
            arrived.setdefault((path, event_id), float(at))
    threading.Thread(target=read_receiver, daemon=True).start()

    vhost = Vhost().create()
    pg = PgDatabases(["integration"], prefix=f"bench_wh_lat_{os.getpid()}").create() if BACKEND == "postgresql" \
        else None
    proc = None
    try:
        url = pg.url("integration") if pg else f"sqlite:///{tmp / 'integration.db'}"
        migrate.upgrade("integration", url)
        engine = make_engine(url)
        with Session(engine) as session, session.begin():
            session.add(Webhook(url=f"http://127.0.0.1:{port}/hook", events=["sales.*"], secret=signing.new_secret(),
                                active=True, format="standard"))
        engine.dispose()
        proc = ServiceProcess("crm_integration.service:IntegrationService",
                              {"AMQP_URI": vhost.uri, "CRM_VAR_DIR": str(tmp), "INTEGRATION_DATABASE_URL": url,
                               "CRM_WEBHOOK_ALLOW_HOSTS": f"127.0.0.1:{port}", "CRM_WEBHOOK_DNS": "off"},
                              tmp, name="integration",
                              config=repo_root() / "services" / "integration" / "config.yaml")
        proc.start().wait_ready("integration", timeout=90)

        # the bare bridge: the broker's delivery to a consumer of its own, then one POST of the body
        bare = Connection(vhost.uri)
        queue = Queue(f"bench-webhook-bridge-{uuid.uuid4().hex[:8]}", exchange=events_exchange("sales"),
                      routing_key="#", exclusive=True, auto_delete=True)
        link = http.client.HTTPConnection("127.0.0.1", port, timeout=15)

        def bridge(body, message):
            data = json.dumps(body if isinstance(body, dict) else {}).encode()
            link.request("POST", "/bare", body=data, headers={"content-type": "application/json"})
            link.getresponse().read()
            message.ack()

        consumer = bare.Consumer(queue, callbacks=[bridge], accept=["json"])
        consumer.consume()
        done = threading.Event()

        def drain():
            while not done.is_set():
                try:
                    bare.drain_events(timeout=0.2)
                except Exception:  # a timeout: nothing waiting
                    pass
        drainer = threading.Thread(target=drain, daemon=True)
        drainer.start()

        publisher = Publisher(vhost.uri, size=1)
        warm = make_envelope("sales.lead_created.v1", {"id": str(uuid.uuid4()), "last_name": "warm"}, "sales", None,
                             None)
        publisher.publish_all([warm])  # the first event opens the service's session and connection
        deadline = time.time() + 30
        while ("/hook", warm["event_id"]) not in arrived and time.time() < deadline:
            time.sleep(0.05)

        database = pg.url("integration").rsplit("/", 1)[1] if pg else None
        service_before = process_seconds(proc.proc.pid)
        server_before = {b: process_seconds(b) for b in pg_backends(database)} if pg else {}
        sent: dict[str, float] = {}
        started, n = time.perf_counter(), 0
        while time.perf_counter() - started < SECONDS:
            due = int((time.perf_counter() - started) * RATE) + 1  # the events due by now, published together
            out = []
            while n < due:
                out.append(make_envelope("sales.lead_updated.v1",
                                         {"id": str(uuid.uuid4()), "last_name": f"Lead {n}", "owner_id": "u-1",
                                          "changed_fields": ["last_name"]}, "sales", None, None))
                n += 1
            at = time.time()
            for env in out:
                sent[env["event_id"]] = at
            publisher.publish_all(out)
            time.sleep(max(0.0, started + n / RATE - time.perf_counter()))
        took = time.perf_counter() - started
        deadline = time.time() + 60
        while time.time() < deadline and sum(("/hook", e) in arrived for e in sent) < len(sent):
            time.sleep(0.2)
        service_cpu = process_seconds(proc.proc.pid) - service_before
        # the server processes serving it now (one opened during the run counts from 0; one closed is missed)
        server_cpu = sum(process_seconds(b) - server_before.get(b, 0.0) for b in pg_backends(database)) if pg else 0.0
        done.set()
        drainer.join(2)
        publisher.close()

        hook = [(arrived[("/hook", e)] - at) * 1000 for e, at in sent.items() if ("/hook", e) in arrived]
        bridged = [(arrived[("/bare", e)] - at) * 1000 for e, at in sent.items() if ("/bare", e) in arrived]
        print(f"backend {BACKEND}; published {n:,} sales events in {took:.1f} s = {n / took:,.0f} events/s "
              f"(asked {RATE:,.0f})")
        print(f"webhook (publish -> service -> receiver): {len(hook):,}/{n:,} delivered, p50 "
              f"{percentile(hook, 50):,.0f} ms, p99 {percentile(hook, 99):,.0f} ms, max {max(hook or [0]):,.0f} ms")
        print(f"baseline, bare bridge (publish -> consumer -> POST): {len(bridged):,}/{n:,}, p50 "
              f"{percentile(bridged, 50):,.1f} ms, p99 {percentile(bridged, 99):,.1f} ms")
        stages(url, sent, {e: at for (path, e), at in arrived.items() if path == "/hook"})
        delivered = max(1, len(hook))
        print(f"service CPU (/proc): {service_cpu:.1f} s, {service_cpu / delivered * 1000:.2f} ms per delivered event"
              + (f"; PostgreSQL server processes of its database: {server_cpu:.1f} s, "
                 f"{server_cpu / delivered * 1000:.2f} ms per delivered event" if pg else ""))
        print(f"ratio p99 webhook / bare bridge: {percentile(hook, 99) / max(percentile(bridged, 99), 0.001):,.1f}")
        bare.close()
        link.close()
    finally:
        if proc is not None:
            proc.stop(timeout=10)
        receiver.terminate()
        vhost.delete()
        if pg is not None:
            pg.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
