"""Every log line of a service names the request that caused it (`%(request_id)s` in the format)."""
from __future__ import annotations

import logging
import threading

from nameko.extensions import DependencyProvider

from crm_common.context import request_id_from_context

_local = threading.local()  # green-thread local under eventlet


EXPECTED_ERROR_PREFIX = "(expected) error handling worker"


class RequestIdFilter(logging.Filter):
    """Adds the request id; a business refusal (a ServiceError: 404, 409, 422...) is one INFO line,
    not a warning with a traceback -- tracebacks stay for what is really unexpected."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(_local, "request_id", None) or "-"
        if isinstance(record.msg, str) and record.msg.startswith(EXPECTED_ERROR_PREFIX):
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


class LogContext(DependencyProvider):
    """Puts the worker's request id where the logging filter finds it."""

    def worker_setup(self, worker_ctx):
        _local.request_id = request_id_from_context(worker_ctx.context_data)

    def worker_teardown(self, worker_ctx):
        _local.request_id = None

    def get_dependency(self, worker_ctx):
        return None
