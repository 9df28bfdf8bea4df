"""Service desk SLA benchmark (issue 5), figures printed, nothing asserted:

with 10,000 open tickets, (1) the time of one breach-scan pass when nothing is due and when a batch of
500 is due (each breach: a breach record, an internal note, a notification, a priority raise and two
outbox events), against a bare indexed count of the open tickets in the same database; (2) the delay
from a ticket's due time to its `service_desk.sla_breached.v1` event reaching a consumer, with the real
service's monitor timer running (CRM_SLA_SCAN_INTERVAL, 5 s by default), p50/p99/max.

BENCH_BACKEND=postgresql uses a PostgreSQL database of the run's own (SQLite file by default).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import percentile  # noqa: E402
from crm_common.testing.harness import PgDatabases, ServiceProcess, Vhost  # noqa: E402

OPEN_TICKETS = int(os.environ.get("BENCH_TICKETS", "10000"))
DUE_TICKETS = int(os.environ.get("BENCH_DUE", "300"))
SPREAD_S = float(os.environ.get("BENCH_SPREAD_SECONDS", "20"))
BACKEND = os.environ.get("BENCH_BACKEND", "sqlite")
ROOT = Path(__file__).resolve().parent.parent


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def seed(engine, count: int) -> list[str]:
    from sqlalchemy import insert

    from crm_service_desk.models import Ticket

    now = utcnow()
    far = now + timedelta(days=30)
    rows = [{"id": str(uuid.uuid4()), "number": f"B-{i:06d}", "subject": f"bench {i}", "description": "",
             "channel": "web", "type": "question", "priority": "normal", "status": ("new", "open")[i % 2],
             "requester_email": f"b{i}@bench.test", "tags": [], "entitled": False, "paused_minutes": 0,
             "sla_breached": False, "escalation_level": 0, "reopened_count": 0, "created_at": now, "updated_at": now,
             "version": 1, "first_response_due_at": far, "resolution_due_at": far + timedelta(days=1)}
            for i in range(count)]
    with engine.begin() as conn:
        for start in range(0, count, 2000):
            conn.execute(insert(Ticket), rows[start:start + 2000])
    return [r["id"] for r in rows]


def set_due(engine, ids: list[str], dues: list[datetime]) -> None:
    from sqlalchemy import update

    from crm_service_desk.models import Ticket

    with engine.begin() as conn:
        for ticket_id, due in zip(ids, dues):
            conn.execute(update(Ticket).where(Ticket.id == ticket_id).values(first_response_due_at=due))


class NullPublisher:
    def publish(self, envelope, **kwargs):
        pass


class Uow:
    """What crm_common.entrypoint.run needs of a service: its unit of work."""

    def __init__(self, db):
        self.db = db


def bench_scan_pass(engine) -> None:
    from sqlalchemy import func, select

    from crm_common.entrypoint import run
    from crm_common.unit_of_work import UnitOfWork
    from crm_service_desk.domain import sla
    from crm_service_desk.models import Base, Ticket

    def one_pass(limit=500) -> tuple[float, int]:
        uow = UnitOfWork(engine, Base.metadata, "service_desk", NullPublisher(), None, None)
        began = time.perf_counter()
        found = run(Uow(uow), sla.scan_breaches, utcnow(), limit)  # one transaction, as the monitor runs it
        uow.close()
        return time.perf_counter() - began, found

    def baseline() -> float:
        began = time.perf_counter()
        with engine.connect() as conn:
            conn.execute(select(func.count()).select_from(Ticket).where(Ticket.status.in_(sla.UNSOLVED))).scalar()
        return time.perf_counter() - began

    base = min(baseline() for _ in range(5))
    idle = [one_pass()[0] for _ in range(5)]
    print(f"{'bare count of open tickets':<52} {base * 1000:>9.2f} ms", flush=True)
    print(f"{'scan pass, nothing due (best of 5)':<52} {min(idle) * 1000:>9.2f} ms   "
          f"x{min(idle) / base:.1f} the bare count", flush=True)
    with engine.connect() as conn:
        ids = conn.execute(select(Ticket.id).where(Ticket.sla_breached.is_(False)).limit(500)).scalars().all()
    set_due(engine, ids, [utcnow() - timedelta(seconds=1)] * len(ids))
    elapsed, found = one_pass()
    print(f"{'scan pass, 500 due (escalate all)':<52} {elapsed * 1000:>9.2f} ms   "
          f"{elapsed / max(found, 1) * 1000:.2f} ms per breach ({found} breached)", flush=True)


def bench_delay(engine, env: dict, tmp: Path, vhost: Vhost) -> None:
    import json

    from kombu import Connection, Exchange, Queue
    from sqlalchemy import select

    from crm_service_desk.models import Ticket

    received: dict[str, datetime] = {}
    ready = threading.Event()
    stop = threading.Event()

    def consume():
        queue = Queue(f"bench.sd.{uuid.uuid4().hex[:6]}", Exchange("service_desk.events", type="topic", durable=True),
                      routing_key="service_desk.sla_breached.v1", auto_delete=True)
        with Connection(vhost.uri) as conn:
            def on_message(body, message):
                envelope = json.loads(body) if isinstance(body, (str, bytes)) else body
                received.setdefault(envelope["data"]["id"], utcnow())
                message.ack()

            with conn.Consumer(queue, callbacks=[on_message], accept=["json"]):
                ready.set()
                while not stop.is_set():
                    try:
                        conn.drain_events(timeout=0.5)
                    except TimeoutError:
                        pass
                    except OSError:
                        pass

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    ready.wait(10)
    proc = ServiceProcess("crm_service_desk.service:ServiceDeskService", env, tmp, name="service_desk",
                          config=ROOT / "services" / "service_desk" / "config.yaml").start()
    try:
        proc.wait_ready("service_desk", timeout=60)
        with engine.connect() as conn:
            ids = conn.execute(select(Ticket.id).where(Ticket.sla_breached.is_(False)).limit(DUE_TICKETS)).scalars().all()
        start = utcnow() + timedelta(seconds=2)
        dues = [start + timedelta(seconds=SPREAD_S * i / max(len(ids) - 1, 1)) for i in range(len(ids))]
        set_due(engine, ids, dues)
        due_of = dict(zip(ids, dues))
        deadline = time.time() + SPREAD_S + 60
        while time.time() < deadline and len([i for i in ids if i in received]) < len(ids):
            time.sleep(0.5)
        delays = [(received[i] - due_of[i]).total_seconds() for i in ids if i in received]
        interval = env.get("CRM_SLA_SCAN_INTERVAL", "5")
        print(f"{'due time -> sla_breached event (monitor every ' + interval + ' s)':<52} "
              f"p50 {percentile(delays, 50):>6.2f} s  p99 {percentile(delays, 99):>6.2f} s  "
              f"max {max(delays) if delays else float('nan'):>6.2f} s  ({len(delays)}/{len(ids)} received)",
              flush=True)
    finally:
        stop.set()
        proc.stop()


def main() -> int:
    from crm_common.db import make_engine

    vhost = Vhost().create()
    pg = None
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        env = {"AMQP_URI": vhost.uri, "CRM_VAR_DIR": str(tmp), "CRM_OUTBOX_RELAY_INTERVAL": "0.5"}
        if "CRM_SLA_SCAN_INTERVAL" in os.environ:
            env["CRM_SLA_SCAN_INTERVAL"] = os.environ["CRM_SLA_SCAN_INTERVAL"]
        if BACKEND == "postgresql":
            pg = PgDatabases(["service_desk"]).create()
            env["SERVICE_DESK_DATABASE_URL"] = pg.url("service_desk")
        url = env.get("SERVICE_DESK_DATABASE_URL") or f"sqlite:///{tmp / 'service_desk.db'}"
        try:
            run_env = {**os.environ, **env}
            for args in (["-m", "crm_common.migrate", "service_desk"],
                         ["-c", "from crm_common import topology; topology.declare()"]):
                subprocess.run([sys.executable, "-W", "ignore", *args], env=run_env, check=True, capture_output=True)
            engine = make_engine(url)
            began = time.perf_counter()
            seed(engine, OPEN_TICKETS)
            print(f"{BACKEND}: seeded {OPEN_TICKETS} open tickets in {time.perf_counter() - began:.1f} s", flush=True)
            bench_scan_pass(engine)
            bench_delay(engine, env, tmp, vhost)
            engine.dispose()
        finally:
            vhost.delete()
            if pg is not None:
                pg.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
