"""OpenTelemetry traces, from the gateway through RPC to the event handlers (issue 18).

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `CRM_OTEL_ENDPOINT`) is set and opentelemetry-sdk with its OTLP
HTTP exporter is installed (`pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http`): then each
process exports its spans there (`<endpoint>/v1/traces`), named `crm-<service>`. Off, nothing here costs more
than a check of one module variable.

One trace follows a request across processes in W3C `traceparent` form: the gateway opens a server span
per request (continuing a caller's `traceparent` header), an RPC carries it in nameko's context data
(`traceparent`, beside the request id; not part of the call's signature), a service's worker opens a span
under it, and an event written meanwhile carries it in its envelope (`traceparent`), so the consumer's span
belongs to the same trace -- also when the outbox relay publishes the event later. Span attributes are ids
and names only (route, method, event type, status), never a caller's data.

The current span is kept per thread (per green thread in a service, per request thread in the gateway),
like the request id of the log lines (crm_common.logs).
"""
from __future__ import annotations

import atexit
import logging
import threading
from contextlib import contextmanager

from crm_common import config

log = logging.getLogger(__name__)
TRACEPARENT = "traceparent"  # the key in nameko's context data, in an event's envelope, and the HTTP header
_tracer = None
_provider = None
_local = threading.local()
_began = False  # whether any span was ever made current here: until then no thread has one (no local to read)


def endpoint() -> str | None:
    return config.env("CRM_OTEL_ENDPOINT") or config.env("OTEL_EXPORTER_OTLP_ENDPOINT")


def enabled() -> bool:
    return _tracer is not None


def setup(service: str, exporter=None) -> bool:
    """Trace this process as `crm-<service>`: export to the OTLP endpoint when one is set, or to `exporter`
    (a test's in-memory exporter). Returns whether tracing is on."""
    global _tracer, _provider
    if exporter is None and not endpoint():
        return False
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        log.warning("traces are off: an OTLP endpoint is set but opentelemetry-sdk or "
                    "opentelemetry-exporter-otlp-proto-http is not installed")
        return False
    if exporter is None:
        base = endpoint().rstrip("/")
        url = base if base.endswith("/v1/traces") else base + "/v1/traces"
        processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=url), schedule_delay_millis=500)
    else:
        processor = SimpleSpanProcessor(exporter)
    provider = TracerProvider(resource=Resource.create({"service.name": f"crm-{service}"}))
    provider.add_span_processor(processor)
    if _provider is None:
        atexit.register(shutdown)
    _provider, _tracer = provider, provider.get_tracer("crm")
    return True


def shutdown() -> None:
    """Export what is left and stop tracing."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None


def current_traceparent() -> str | None:
    """The `traceparent` of this thread's current span (None when there is none, or tracing is off). Every event
    recorded asks: while no span was ever begun, the thread-local (under eventlet a green one) is not read."""
    if not _began:
        return None
    span = getattr(_local, "span", None)
    if span is None:
        return None
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def _parent(traceparent: str | None, nested: bool = True):
    """The context a new span starts in: the given traceparent's, else (`nested`) this thread's current span's."""
    if not traceparent:
        if not nested:
            return None
        current = getattr(_local, "span", None)
        if current is None:
            return None
        from opentelemetry.trace import set_span_in_context
        return set_span_in_context(current)
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
    return TraceContextTextMapPropagator().extract({TRACEPARENT: traceparent})


def begin(name: str, kind: str, parent: str | None = None, nested: bool = True, **attributes):
    """Start a span (a child of `parent`, a traceparent, else of the current span) and make it this thread's
    current one (`nested=False`: without a parent, a trace of its own); returns a token
    for `end`, or None when tracing is off."""
    if _tracer is None:
        return None
    from opentelemetry.trace import SpanKind
    span = _tracer.start_span(name, context=_parent(parent, nested), kind=getattr(SpanKind, kind.upper()),
                              attributes={key: value for key, value in attributes.items() if value is not None})
    global _began
    _began = True
    token = (span, getattr(_local, "span", None))
    _local.span = span
    return token


def end(token, error: BaseException | None = None, **attributes) -> None:
    """End the span `begin` started and make the one before it current again."""
    if token is None:
        return
    span, previous = token
    for key, value in attributes.items():
        if value is not None:
            span.set_attribute(key, value)
    if error is not None:
        from opentelemetry.trace import Status, StatusCode
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
    span.end()
    _local.span = previous


@contextmanager
def span(name: str, kind: str = "internal", parent: str | None = None, **attributes):
    token = begin(name, kind, parent, **attributes)
    try:
        yield
    except BaseException as exc:
        end(token, exc)
        token = None
        raise
    finally:
        end(token)


def __getattr__(name: str):
    """`Tracing`, the services' nameko dependency, lives in crm_common.tracing_provider: imported here only when
    asked for, so the gateway (which imports this module) never imports nameko, eventlet and dnspython for it."""
    if name == "Tracing":
        from crm_common.tracing_provider import Tracing
        return Tracing
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
