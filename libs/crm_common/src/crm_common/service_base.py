"""What every service has: a health RPC and the operator's dead-letter RPCs.

    class SalesService(KernelService):
        name = "sales"
        db = Database(Base.metadata)
"""
from __future__ import annotations

import functools
import logging

from crm_common.rpc import rpc
from sqlalchemy import text

from crm_common import deadletters, metrics, outbox
from crm_common.errors import ServiceError
from crm_common.heap import FrozenStartupHeap
from crm_common.logs import LogContext
from crm_common.metrics import Metrics
from crm_common.tracing_provider import Tracing


class KernelService:
    log_context = LogContext()
    startup_heap = FrozenStartupHeap()
    prometheus_metrics = Metrics()
    tracing = Tracing()

    @rpc
    def health(self):
        """Answers when the service is up and its database reachable."""
        with self.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"service": self.name, "status": "ok",
                "outbox_unpublished": outbox.unpublished_count(self.db.engine, self.db.metadata)}

    def _require_admin(self):
        if not self.db.caller.is_admin:
            raise ServiceError("forbidden", "dead letters are for administrators")

    @rpc
    def dead_letters(self, include_replayed=False):
        self._require_admin()
        return deadletters.list_letters(self.db.engine, self.db.metadata, include_replayed)

    @rpc
    def replay_dead_letters(self, ids=None):
        self._require_admin()
        return deadletters.replay(self.db.engine, self.db.metadata, self.db.publisher, ids)


def periodic(what: str):
    """For a `@timer` entrypoint: an exception is logged (with `what` failed) and the next tick tries again,
    so one bad run never stops a service's periodic work."""
    def decorate(method):
        @functools.wraps(method)
        def run(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except Exception:
                logging.getLogger(method.__module__).exception("%s failed", what)
                return metrics.FAILED  # counted as a failed run (crm_timer_runs_total)
        return run
    return decorate
