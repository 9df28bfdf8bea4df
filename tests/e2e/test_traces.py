"""Traces (issue 18, item 5): with OTEL_EXPORTER_OTLP_ENDPOINT set, one request through the gateway is one
trace: the gateway's server span (continuing the client's `traceparent`), the sales service's span of the
RPC under it, and the consumers' spans of the event it wrote -- each process exporting its own spans over
OTLP/HTTP, here to a collector kept in the test's memory. SQLite only: tracing does not touch the database."""
from __future__ import annotations

import os
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crm_common.suite import Suite
from crm_common.testing.client import ApiClient
from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e
trace_service = pytest.importorskip("opentelemetry.proto.collector.trace.v1.trace_service_pb2")


class Collector(ThreadingHTTPServer):
    """An OTLP/HTTP receiver (protobuf) keeping every span it is sent: (service, name, trace id, span id,
    parent span id), ids in hex."""

    def __init__(self):
        self.spans: list[tuple[str, str, str, str, str]] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Receive)

    def of_trace(self, trace_id: str) -> list[tuple[str, str, str, str, str]]:
        with self.lock:
            return [span for span in self.spans if span[2] == trace_id]


class _Receive(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request = trace_service.ExportTraceServiceRequest()
        request.ParseFromString(body)
        found = []
        for resource_spans in request.resource_spans:
            service = next((a.value.string_value for a in resource_spans.resource.attributes
                            if a.key == "service.name"), "?")
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    found.append((service, span.name, span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex()))
        with self.server.lock:
            self.server.spans.extend(found)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()
        self.wfile.write(trace_service.ExportTraceServiceResponse().SerializeToString())

    def log_message(self, *args):
        pass


@pytest.fixture
def traced(fresh_suite_env):
    collector = Collector()
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    env = {**fresh_suite_env, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_address[1]}"}
    suite = Suite(env=env, quiet=True, log_dir=Path(env["CRM_VAR_DIR"]) / "logs")
    try:
        suite.bootstrap()
        suite.start()
        suite.wait_ready(90)
        yield suite, collector
    finally:
        suite.stop()
        suite.remove_broker_users()
        collector.shutdown()


def test_one_request_is_one_trace_from_the_gateway_through_the_rpc_to_the_event_consumers(traced):
    suite, collector = traced
    admin = ApiClient(f"http://127.0.0.1:{suite.port}").login(suite.env["CRM_ADMIN_EMAIL"],
                                                               suite.env["CRM_ADMIN_PASSWORD"])
    trace_id, caller_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    made = admin.post("/api/v1/leads", headers={"traceparent": f"00-{trace_id}-{caller_span}-01"},
                      json={"last_name": "Traced", "company": "Spans Ltd",
                            "email": f"traced.{uuid.uuid4().hex[:8]}@example.com"})
    assert made.status_code == 201, made.text

    def parts(spans):
        return {(service, name) for service, name, _, _, _ in spans}

    gateway, rpc, consumed = (("crm-gateway", "POST /api/v1/leads"), ("crm-sales", "sales.create_lead"),
                              ("crm-identity", "sales.lead_created.v1 consume"))
    spans = eventually(lambda: collector.of_trace(trace_id), timeout=30,
                       until=lambda found: {gateway, rpc, consumed} <= parts(found))
    assert {gateway, rpc, consumed} <= parts(spans), spans
    ids = {(service, name): (span_id, parent) for service, name, _, span_id, parent in spans}
    assert ids[gateway][1] == caller_span  # the gateway continued the client's trace
    assert ids[rpc][1] == ids[gateway][0]  # the service's span of the RPC is under the gateway's
    assert ids[consumed][1] == ids[rpc][0]  # the consumer's, under the span that wrote the event
    assert ("crm-analytics", "sales.lead_created.v1 consume") in parts(
        eventually(lambda: collector.of_trace(trace_id), timeout=30,
                   until=lambda found: ("crm-analytics", "sales.lead_created.v1 consume") in parts(found)))


def test_traces_are_off_without_an_endpoint():
    from crm_common import tracing
    assert not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    assert tracing.setup("test") is False and not tracing.enabled()
    assert tracing.current_traceparent() is None
