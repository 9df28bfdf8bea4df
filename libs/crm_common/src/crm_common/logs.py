"""Every log line of a service names the request that caused it and who made it (`%(request_id)s`,
`%(actor_id)s`); with CRM_LOG_FORMAT=json each line is one JSON object (time, level, service, logger,
request_id, actor_id, message, error) for a log pipeline. Ids only: a caller's email or name never enters a
line through these fields."""
from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timezone

from nameko.extensions import DependencyProvider

from crm_common import config
from crm_common.context import ACTOR_KEY, Actor, request_id_from_context

_local = threading.local()  # green-thread local under eventlet


EXPECTED_ERROR_PREFIX = "(expected) error handling worker"


class RequestIdFilter(logging.Filter):
    """Adds the request id; a business refusal (a ServiceError: 404, 409, 422...) is one INFO line,
    not a warning with a traceback -- tracebacks stay for what is really unexpected."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(_local, "request_id", None) or "-"
        record.actor_id = _actor_id()
        if isinstance(record.msg, str) and record.msg.startswith(EXPECTED_ERROR_PREFIX):
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


class LogContext(DependencyProvider):
    """Puts the worker's request id where the logging filter finds it."""

    def worker_setup(self, worker_ctx):
        _local.request_id = request_id_from_context(worker_ctx.context_data)
        _local.actor = worker_ctx.context_data.get(ACTOR_KEY)  # decoded only if a line is written

    def worker_teardown(self, worker_ctx):
        _local.request_id = None
        _local.actor = None

    def get_dependency(self, worker_ctx):
        return None


def _actor_id() -> str:
    raw = getattr(_local, "actor", None)
    if not raw:
        return "-"
    try:
        actor = Actor.decode(raw)
    except (ValueError, TypeError):
        return "-"
    if actor is None:
        return "-"
    return actor.user_id or actor.kind


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "service": self.service, "logger": record.name,
                 "request_id": getattr(record, "request_id", "-"), "actor_id": getattr(record, "actor_id", "-"),
                 "message": record.getMessage()}
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def formatter(service: str) -> logging.Formatter:
    """The formatter a service's LOGGING config names (`(): crm_common.logs.formatter`): JSON lines when
    CRM_LOG_FORMAT=json (compose, Kubernetes), else a line for people (make run)."""
    if config.env("CRM_LOG_FORMAT", "text") == "json":
        return JsonFormatter(service)
    return logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s [%(request_id)s %(actor_id)s]: %(message)s")
