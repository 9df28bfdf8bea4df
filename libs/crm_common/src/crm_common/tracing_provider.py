"""The services' nameko dependency of crm_common.tracing: a span for each RPC answered and each event consumed
(apart, so that importing crm_common.tracing imports no nameko: the gateway uses it without eventlet)."""
from __future__ import annotations

from nameko.extensions import DependencyProvider

from crm_common import tracing
from crm_common.tracing import TRACEPARENT, begin, end


class Tracing(DependencyProvider):
    """A span for each RPC a service answers (under its caller's) and for each event it consumes (under the
    span that wrote the event); timers are not traced."""

    def setup(self):
        tracing.setup(self.container.service_name)
        self._tokens = {}

    def worker_setup(self, worker_ctx):
        if tracing._tracer is None:
            return
        from nameko.rpc import Rpc

        from crm_common.stream import EventStream
        service, entrypoint = self.container.service_name, worker_ctx.entrypoint
        if isinstance(entrypoint, Rpc):
            self._tokens[worker_ctx] = [begin(f"{service}.{entrypoint.method_name}", "server",
                                              worker_ctx.context_data.get(TRACEPARENT), nested=False,
                                              **{"rpc.system": "nameko", "rpc.service": service,
                                                 "rpc.method": entrypoint.method_name})]
        elif isinstance(entrypoint, EventStream) and worker_ctx.args:
            body = worker_ctx.args[0]
            envelopes = [e for e in (body if isinstance(body, list) else [body]) if isinstance(e, dict)]
            # one span per event, each in the trace of the span that wrote it (a batch: the last one's is
            # current while the worker runs, for what it writes)
            tokens = [begin(f"{e.get('type')} consume", "consumer", e.get(TRACEPARENT), nested=False,
                            **{"messaging.system": "rabbitmq", "messaging.destination.name": f"crm.{service}.events",
                               "crm.event_type": e.get("type"), "crm.event_id": e.get("event_id")})
                      for e in envelopes]
            self._tokens[worker_ctx] = tokens[::-1]  # ended last-started first: each restores the one before

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        for token in self._tokens.pop(worker_ctx, []):
            end(token, exc_info[1] if exc_info else None)

    def get_dependency(self, worker_ctx):
        return None
