"""crm_common.tracing with an in-memory exporter: spans continue a `traceparent` across a process boundary
(an RPC's context data, an event's envelope), the current span is restored when one ends, and tracing is
off (nothing recorded, no traceparent) until it is set up."""
from __future__ import annotations

import pytest

from crm_common import tracing

memory = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")


@pytest.fixture
def spans():
    exporter = memory.InMemorySpanExporter()
    assert tracing.setup("test", exporter=exporter)
    try:
        yield exporter
    finally:
        tracing.shutdown()


def test_off_until_set_up():
    assert not tracing.enabled()
    assert tracing.begin("nothing", "server") is None
    with tracing.span("nothing"):
        assert tracing.current_traceparent() is None


def test_a_span_continues_the_traceparent_it_is_given_and_hands_its_own_on(spans):
    incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with tracing.span("POST /api/v1/leads", "server", incoming):
        handed_on = tracing.current_traceparent()  # what an RPC or an event's envelope carries
    assert tracing.current_traceparent() is None
    with tracing.span("sales.create_lead", "server", handed_on):
        with tracing.span("inner"):
            pass
        assert tracing.current_traceparent().split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
    gateway, inner, service = spans.get_finished_spans()
    assert {span.context.trace_id for span in (gateway, inner, service)} == {0x0af7651916cd43dd8448eb211c80319c}
    assert gateway.parent.span_id == 0xb7ad6b7169203331
    assert service.parent.span_id == gateway.context.span_id
    assert inner.parent.span_id == service.context.span_id
    assert gateway.resource.attributes["service.name"] == "crm-test"


def test_a_failed_span_says_so_and_restores_the_one_before(spans):
    with tracing.span("outer"):
        outer = tracing.current_traceparent()
        with pytest.raises(ValueError):
            with tracing.span("failing"):
                raise ValueError("no")
        assert tracing.current_traceparent() == outer
    failing, _ = spans.get_finished_spans()
    assert failing.status.status_code.name == "ERROR"
