"""Analytics lag benchmark (issue 14, item 10c), figures printed, nothing asserted.

The analytics service (nameko run) on PostgreSQL and a broker vhost of their own. Sales events (a deal
created, two thirds of the time; else a stage change of one created before) are published as the sales
outbox relay publishes them once committed, at BENCH_ANALYTICS_LAG_RATE events/s (200) for
BENCH_ANALYTICS_LAG_SECONDS (30). A watcher reads the read model every 10 ms: an event's lag is from its
publication to the first read that shows it (its deal there, or at its stage), p50 and p99 (target p99 <= 1 s).
The baseline, in the same run: the broker's own delivery of the same events to a bare consumer (a queue of
its own bound to the sales exchange): the lag analytics adds over it. The producer's outbox relay (its poll,
then this publication) is not counted: it is the producer's.
"""
from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import percentile  # noqa: E402

RATE = float(os.environ.get("BENCH_ANALYTICS_LAG_RATE", "200"))
SECONDS = float(os.environ.get("BENCH_ANALYTICS_LAG_SECONDS", "30"))


def main() -> int:
    from kombu import Connection, Queue
    from sqlalchemy import select

    from crm_common import migrate
    from crm_common.bus import Publisher, events_exchange
    from crm_common.config import repo_root
    from crm_common.db import make_engine
    from crm_common.envelope import make_envelope
    from crm_common.testing.harness import PgDatabases, ServiceProcess, Vhost

    from crm_analytics.models import GENERATIONS

    tmp = Path(tempfile.mkdtemp(prefix="bench-analytics-lag-"))
    vhost = Vhost().create()
    pg = PgDatabases(["analytics"], prefix=f"bench_an_lag_{os.getpid()}").create()
    proc = None
    try:
        url = pg.url("analytics")
        migrate.upgrade("analytics", url)
        engine = make_engine(url, pool_size=2)
        proc = ServiceProcess("crm_analytics.service:AnalyticsService",
                              {"AMQP_URI": vhost.uri, "CRM_VAR_DIR": str(tmp), "ANALYTICS_DATABASE_URL": url},
                              tmp, name="analytics", config=repo_root() / "services" / "analytics" / "config.yaml")
        proc.start().wait_ready("analytics", timeout=90)

        sent: dict[str, tuple[float, str]] = {}  # event id -> (published at, what shows it: deal id / stage)
        seen_broker: dict[str, float] = {}
        seen_model: dict[str, float] = {}
        done = threading.Event()

        bare = Connection(vhost.uri)
        queue = Queue(f"bench-lag-{uuid.uuid4().hex[:8]}", exchange=events_exchange("sales"), routing_key="#",
                      exclusive=True, auto_delete=True)

        def on_message(body, message):
            seen_broker.setdefault(message.properties.get("message_id") or "", time.perf_counter())
            message.ack()

        consumer = bare.Consumer(queue, callbacks=[on_message], accept=["json"])
        consumer.consume()

        def drain():
            while not done.is_set():
                try:
                    bare.drain_events(timeout=0.2)
                except Exception:  # a timeout: nothing waiting
                    pass

        t = GENERATIONS["a"].opportunities
        pending: dict[str, list] = {}  # deal id -> [(event id, stage)]
        lock = threading.Lock()

        def watch():
            while not done.is_set() or pending:
                with lock:
                    ids = list(pending)
                if ids:
                    with engine.connect() as conn:
                        rows = {r.id: r.stage for r in conn.execute(select(t.c.id, t.c.stage).where(t.c.id.in_(ids)))}
                    now = time.perf_counter()
                    with lock:
                        found = [deal for deal in ids if deal in rows]
                    for deal in found:
                        with lock:
                            waiting = pending[deal]
                            for event_id, stage in list(waiting):
                                if stage == rows[deal] or stage is None:
                                    seen_model[event_id] = now
                                    waiting.remove((event_id, stage))
                            if not waiting:
                                pending.pop(deal, None)
                if done.is_set() and time.perf_counter() > deadline_drain:
                    return
                time.sleep(0.01)

        deadline_drain = float("inf")
        threads = [threading.Thread(target=drain, daemon=True), threading.Thread(target=watch, daemon=True)]
        for thread in threads:
            thread.start()
        publisher = Publisher(vhost.uri, size=1)
        created: list[str] = []
        changed = 0
        started, n = time.perf_counter(), 0
        stages = ("qualification", "proposal", "negotiation")
        while time.perf_counter() - started < SECONDS:
            due = int((time.perf_counter() - started) * RATE) + 1  # the events due by now, published together
            out = []
            while n < due:
                if n % 3 == 2 and changed < len(created):  # each deal changes stage once at most
                    deal, stage = created[changed], stages[changed % 3]
                    changed += 1
                    env = make_envelope("sales.opportunity_stage_changed.v1",
                                        {"id": deal, "from_stage": "prospecting", "to_stage": stage,
                                         "probability": 50, "amount": "10.00", "currency": "EUR"}, "sales", None, None)
                else:
                    deal, stage = str(uuid.uuid4()), None
                    env = make_envelope("sales.opportunity_created.v1",
                                        {"id": deal, "name": f"Deal {n}", "owner_id": "u-1", "amount": "10.00",
                                         "currency": "EUR", "stage": "prospecting", "probability": 10},
                                        "sales", None, None)
                    created.append(deal)
                out.append((env, deal, stage))
                n += 1
            at = time.perf_counter()
            with lock:
                for env, deal, stage in out:
                    pending.setdefault(deal, []).append((env["event_id"], stage))
                    sent[env["event_id"]] = (at, deal)
            publisher.publish_all([env for env, _, _ in out])
            time.sleep(max(0.0, started + n / RATE - time.perf_counter()))
        took = time.perf_counter() - started
        deadline_drain = time.perf_counter() + 30
        done.set()
        threads[1].join(35)
        publisher.close()
        lags = [(seen_model[e] - at) * 1000 for e, (at, _) in sent.items() if e in seen_model]
        broker = [(seen_broker[e] - at) * 1000 for e, (at, _) in sent.items() if e in seen_broker]
        print(f"published {n:,} sales events in {took:.1f} s = {n / took:,.0f} events/s (target rate {RATE:,.0f})")
        print(f"lag publication -> read model: {len(lags):,} seen, p50 {percentile(lags, 50):,.0f} ms, "
              f"p99 {percentile(lags, 99):,.0f} ms, max {max(lags or [0]):,.0f} ms (target p99 <= 1000 ms); "
              f"{n - len(lags):,} not seen within 30 s")
        print(f"baseline, the broker's delivery to a bare consumer: p50 {percentile(broker, 50):,.1f} ms, "
              f"p99 {percentile(broker, 99):,.1f} ms; ratio p99 analytics / broker "
              f"{percentile(lags, 99) / max(percentile(broker, 99), 0.001):,.1f}")
        bare.close()
        engine.dispose()
    finally:
        if proc is not None:
            proc.stop(timeout=10)
        vhost.delete()
        pg.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
