"""The gateway's Prometheus metrics: requests by route, method and status, with their latency.

`GET /metrics` answers clients on loopback or a private network (Prometheus inside the cluster; with
CRM_TRUSTED_PROXIES the address is the client's, not the proxy's) and 404 to anyone else. Under gunicorn the
workers' counters are summed (prometheus_client's multiprocess mode: deploy/gunicorn.conf.py sets
PROMETHEUS_MULTIPROC_DIR before the workers start); a route is its rule (`/api/v1/leads/<id:record_id>`),
never the path a client sent (no record id, no personal data in a label).
"""
from __future__ import annotations

import ipaddress
import os
import time

from flask import Response, abort, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess

REQUESTS = Counter("crm_http_requests", "Requests the gateway answered, by route, method and status",
                   ("route", "method", "status"))
SECONDS = Histogram("crm_http_request_duration_seconds", "Time the gateway took to answer, by route and method",
                    ("route", "method"), buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))


def started() -> None:
    g.metrics_started = time.perf_counter()


_children: dict = {}  # (route, method, status) -> the two metrics' children of those labels, as requests ask
CHILDREN_KEPT = 4096  # more than the routes' methods and statuses: a client's made-up method is labelled per call


def counted(response):
    req = request._get_current_object()
    rule = req.url_rule.rule if req.url_rule is not None else "unmatched"
    key = (rule, req.method, response.status_code)
    children = _children.get(key)
    if children is None:
        children = (REQUESTS.labels(rule, req.method, str(response.status_code)), SECONDS.labels(rule, req.method))
        if len(_children) < CHILDREN_KEPT:
            _children[key] = children
    children[0].inc()
    began = g.get("metrics_started")
    if began is not None:
        children[1].observe(time.perf_counter() - began)
    return response


def exposition():
    """The /metrics view (public: no caller needed, but only from a private address)."""
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        abort(404)
    if not (address.is_loopback or address.is_private):
        abort(404)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
