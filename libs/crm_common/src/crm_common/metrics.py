"""Prometheus metrics of a service: what it was asked, what it published and consumed, what waits.

Every service has them (`KernelService.prometheus_metrics`, a dependency): served at `http://<addr>:<port>/metrics` when
`CRM_METRICS_PORT` is set (`make run` gives each service a port of its own and prints them; 9100 in the
images). Counted as they happen: RPCs by method and outcome with their latency, events published by type,
events consumed, retried and dead-lettered by type. Read when scraped: the outbox backlog and the age of its
oldest row, jobs by status and the progress of running ones, database connections in use. Periodic tasks
(timers) by outcome, and when each last ran to its end (an SLA monitor that stopped shows there). No label holds a
record id or personal data (a running job's id is the one exception: a handful at a time).
"""
from __future__ import annotations

import logging
import time
import weakref
from datetime import timezone

from nameko.extensions import DependencyProvider
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from crm_common import config
from crm_common.db import utcnow

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
RPC_REQUESTS = Counter("crm_rpc_requests", "RPC calls a service answered, by method and outcome (ok or an error code)",
                       ("service", "method", "outcome"), registry=REGISTRY)
RPC_SECONDS = Histogram("crm_rpc_duration_seconds", "Time a service took to answer an RPC", ("service", "method"),
                        buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10), registry=REGISTRY)
EVENTS_PUBLISHED = Counter("crm_events_published", "Events published to the broker (confirmed), by type",
                           ("service", "type"), registry=REGISTRY)
EVENTS_CONSUMED = Counter("crm_events_consumed", "Events a consumer handled, by type and outcome (applied or failed)",
                          ("service", "type", "outcome"), registry=REGISTRY)
EVENTS_RETRIED = Counter("crm_events_retried", "Failed events scheduled for another attempt", ("service", "type"),
                         registry=REGISTRY)
EVENTS_DEAD_LETTERED = Counter("crm_events_dead_lettered", "Events parked after their last attempt",
                               ("service", "type"), registry=REGISTRY)

TIMER_RUNS = Counter("crm_timer_runs", "Runs of a periodic task (SLA monitor, reminders, sends...), by outcome",
                     ("service", "timer", "outcome"), registry=REGISTRY)
TIMER_LAST_OK = Gauge("crm_timer_last_success_timestamp_seconds", "When a periodic task last ran to its end",
                      ("service", "timer"), registry=REGISTRY)
FAILED = object()  # what service_base.periodic returns for a run that raised (it logs and swallows the error)

_service = "unknown"  # this process's service (set when its metrics dependency is set up)


def service_name() -> str:
    return _service


def published(types) -> None:
    """Count published events: one `labels(...).inc(n)` per type (a lock and a key look-up each), not per event."""
    counts: dict = {}
    for type_ in types:
        counts[type_] = counts.get(type_, 0) + 1
    for type_, n in counts.items():
        EVENTS_PUBLISHED.labels(_service, type_ or "unknown").inc(n)


class _StateCollector:
    """What is read from the service's database when Prometheus scrapes: the outbox, jobs, the pool."""

    def __init__(self, database):
        self.database = database

    def collect(self):
        engine, metadata = self.database.engine, self.database.metadata
        backlog = GaugeMetricFamily("crm_outbox_backlog", "Events written but not yet published", labels=["service"])
        age = GaugeMetricFamily("crm_outbox_oldest_age_seconds", "Age of the oldest unpublished event",
                                labels=["service"])
        jobs = GaugeMetricFamily("crm_jobs", "Jobs by status", labels=["service", "status"])
        progress = GaugeMetricFamily("crm_job_progress_ratio", "Processed / total of each running job",
                                     labels=["service", "kind", "job_id"])
        pool = GaugeMetricFamily("crm_db_connections_in_use", "Database connections checked out of the pool",
                                 labels=["service"])
        try:
            with engine.connect() as conn:
                outbox = metadata.tables.get("crm_outbox")
                if outbox is not None:
                    unpublished = outbox.c.published_at.is_(None)
                    count, oldest = conn.execute(select(func.count(), func.min(outbox.c.created_at))
                                                 .where(unpublished)).one()
                    backlog.add_metric([_service], count)
                    age.add_metric([_service], _age(oldest))
                table = metadata.tables.get("crm_jobs")
                if table is not None:
                    for status, count in conn.execute(select(table.c.status, func.count()).group_by(table.c.status)):
                        jobs.add_metric([_service, status], count)
                    for row in conn.execute(select(table.c.id, table.c.kind, table.c.processed, table.c.total)
                                            .where(table.c.status == "running")):
                        progress.add_metric([_service, row.kind, row.id],
                                            (row.processed or 0) / row.total if row.total else 0.0)
            pool.add_metric([_service], getattr(engine.pool, "checkedout", lambda: 0)())
        except Exception as exc:  # a scrape never fails the service; the series are just missing this time
            log.warning("metrics: could not read the database state: %s", type(exc).__name__)
        yield from (backlog, age, jobs, progress, pool)


def _age(oldest) -> float:
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:  # an aggregate over a UTC column comes back naive on SQLite
        oldest = oldest.replace(tzinfo=timezone.utc)
    return max(0.0, (utcnow() - oldest).total_seconds())


class Metrics(DependencyProvider):
    """Counts each RPC a worker answers and serves the registry on CRM_METRICS_PORT (when set)."""

    def setup(self):
        global _service
        _service = self.container.service_name
        self._started = weakref.WeakKeyDictionary()  # worker context -> when it started

    def start(self):
        from crm_common.dependencies import Database
        database = next((d for d in self.container.dependencies if isinstance(d, Database)), None)
        if database is not None and not getattr(REGISTRY, "_crm_state", False):
            REGISTRY.register(_StateCollector(database))
            REGISTRY._crm_state = True
        port = config.env_int("CRM_METRICS_PORT", 0)
        if port:
            try:
                start_http_server(port, addr=config.env("CRM_METRICS_BIND", "127.0.0.1"), registry=REGISTRY)
                log.info("metrics served on port %s", port)
            except OSError as exc:  # metrics are worth a warning, never the service
                log.warning("metrics not served: port %s: %s", port, exc.strerror or exc)

    def worker_setup(self, worker_ctx):
        self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        from nameko.rpc import Rpc
        from nameko.timer import Timer
        method = worker_ctx.entrypoint.method_name
        if isinstance(worker_ctx.entrypoint, Timer):
            self._started.pop(worker_ctx, None)
            ok = exc_info is None and result is not FAILED
            TIMER_RUNS.labels(_service, method, "ok" if ok else "error").inc()
            if ok:
                TIMER_LAST_OK.labels(_service, method).set_to_current_time()
            return
        if not isinstance(worker_ctx.entrypoint, Rpc):
            self._started.pop(worker_ctx, None)
            return
        started = self._started.pop(worker_ctx, None)
        if started is not None:
            RPC_SECONDS.labels(_service, method).observe(time.perf_counter() - started)
        outcome = "ok" if exc_info is None else getattr(exc_info[1], "code", None) or "error"
        RPC_REQUESTS.labels(_service, method, outcome).inc()

    def get_dependency(self, worker_ctx):
        return None
