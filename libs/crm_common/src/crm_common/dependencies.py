"""nameko dependency providers of the kernel: the database (with outbox relay) and the call context."""
from __future__ import annotations

import logging
import time

import eventlet
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc

from crm_common import callers, config, idempotency, outbox, startup
from crm_common.bus import Publisher
from crm_common.context import actor_from_context, request_id_from_context
from crm_common.db import make_engine
from crm_common.rpc import SignedRpc
from crm_common.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
IDEMPOTENCY_PURGE_INTERVAL = 600.0  # seconds between the relay's deletions of Idempotency-Keys past their TTL


class Database(DependencyProvider):
    """Gives each worker a UnitOfWork; runs the outbox relay in the background."""

    def __init__(self, metadata, relay_interval: float | None = None, mark_interval: float | None = None):
        self.metadata = metadata
        self.relay_interval = relay_interval
        self.mark_interval = mark_interval
        self.engine = None
        self.publisher = None
        self.marks = None
        self.order = outbox.CommitOrder()  # this process's committed events, published in commit order
        self._running = False

    def setup(self):
        service = self.container.service_name
        startup.refuse_development_defaults(service)
        url = self.container.config.get("DATABASE_URL") or config.database_url(service)
        self.engine = make_engine(url)
        self.publisher = Publisher(self.container.config.get("AMQP_URI"))
        if self.relay_interval is None:
            self.relay_interval = config.env_float("CRM_OUTBOX_RELAY_INTERVAL", 1.0)
        if self.mark_interval is None:
            self.mark_interval = config.env_float("CRM_OUTBOX_MARK_INTERVAL", 0.2)
        self.marks = outbox.Marks(self.engine, self.metadata)

    def start(self):
        self._running = True
        self.container.spawn_managed_thread(self._relay_loop)
        self.container.spawn_managed_thread(self._mark_loop)

    def stop(self):
        self._running = False
        self._flush_marks()

    def kill(self):
        self._running = False

    def _relay_loop(self):
        purged = time.monotonic()
        while self._running:
            try:
                while self._running and outbox.publish_pending(self.engine, self.metadata, self.publisher) > 0:
                    pass
                if time.monotonic() - purged >= IDEMPOTENCY_PURGE_INTERVAL:  # keys past their day, now and then
                    purged = time.monotonic()
                    idempotency.purge(self.engine, self.metadata)
            except Exception as exc:
                log.warning("outbox relay: %s; will try again", type(exc).__name__)
            eventlet.sleep(self.relay_interval)

    def _mark_loop(self):
        """Mark what workers published after their commits, together (outbox.Marks)."""
        while self._running:
            eventlet.sleep(self.mark_interval)
            self._flush_marks()

    def _flush_marks(self):
        try:
            self.marks.flush()
        except Exception as exc:  # kept for the next flush; the relay's grace covers a short delay
            log.warning("outbox marks: %s; will try again", type(exc).__name__)

    def get_dependency(self, worker_ctx):
        """The worker's UnitOfWork. An RPC's caller is the actor its SignedRpc entrypoint verified; an RPC
        through any other entrypoint has none (its `caller` is refused); timers and events have none
        either and act as the system. An RPC's events are published after its reply (worker_teardown). A signed
        RPC's Idempotency-Key (verified with its caller) makes its entrypoint keep its answer (crm_common.idempotency);
        a repeat's reply says it is one (SignedRpc.handle_result reads the worker's unit of work)."""
        data = worker_ctx.context_data
        entrypoint = worker_ctx.entrypoint
        is_rpc = isinstance(entrypoint, Rpc)
        signed = isinstance(entrypoint, SignedRpc)
        actor = actor_from_context(data) if signed else None
        pair = callers.idempotent_pair(data or {}) if signed else None
        uow = UnitOfWork(self.engine, self.metadata, self.container.service_name, self.publisher,
                         actor, request_id_from_context(data), rpc=is_rpc, marks=self.marks, defer_publish=is_rpc,
                         idempotent=idempotency.Idempotent(*pair) if pair else None, order=self.order)
        worker_ctx.crm_unit_of_work = uow  # whether its answer was a kept one, for the reply (SignedRpc)
        return uow

    def worker_teardown(self, worker_ctx):
        dependency = worker_ctx.service.__dict__.get(self.attr_name)
        if dependency is not None:
            try:
                dependency.publish_deferred()  # nameko sent the reply before the teardown
            finally:
                dependency.close()
