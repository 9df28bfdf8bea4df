"""The gateway's part of a trace (crm_common.tracing): a server span per request, named by its route rule
(`POST /api/v1/leads/<id:record_id>`, never the path a client sent), continuing a caller's `traceparent`
header; the RPCs the request makes carry it on. Off unless tracing is configured."""
from __future__ import annotations

from flask import Flask, g, request

from crm_common import tracing


def install(app: Flask) -> None:
    if not tracing.setup("gateway"):
        return
    app.before_request(_begin)
    app.after_request(_status)
    app.teardown_request(_end)


def _begin():
    rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
    g.trace = tracing.begin(f"{request.method} {rule}", "server", request.headers.get(tracing.TRACEPARENT),
                            **{"http.request.method": request.method, "http.route": rule,
                               "crm.request_id": g.get("request_id")})


def _status(response):
    g.trace_status = response.status_code
    return response


def _end(error=None):
    tracing.end(g.pop("trace", None), error, **{"http.response.status_code": g.pop("trace_status", None)})
