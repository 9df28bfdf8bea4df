"""Secrets that travel in URL paths (a survey token) never reach a log line.

`redact(text)` replaces each such secret with `[redacted]`; gunicorn uses `RedactingLogger`
(`logger_class` in deploy/gunicorn.conf.py), which redacts every atom of the access log (request
line, path, referer, headers) and every message of its error log; the gateway's own log lines
redact the paths they name.
"""
from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger

REDACTED = "[redacted]"
# each pattern's group 1 is the secret; its marker, text that every match holds, is looked for first (a
# substring test: every atom of every access log line goes through here, and almost none holds a secret)
SECRET_PATHS = (
    ("/api/v1/surveys/", re.compile(r"/api/v1/surveys/([^/?#\s\"]+)/responses")),
)


def redact(text):
    """`text` with the secrets of SECRET_PATHS replaced (anything that is not a str is returned as is)."""
    if not isinstance(text, str):
        return text
    for marker, pattern in SECRET_PATHS:
        if marker in text:
            text = pattern.sub(lambda m: m.group(0).replace(m.group(1), REDACTED), text)
    return text


class RedactingFilter(logging.Filter):
    """Redacts a record's message and arguments (for handlers that others' code logs through)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = redact(record.getMessage())
            record.args = None
        else:
            record.msg = redact(record.msg)
        return True


class RedactingLogger(Logger):
    """gunicorn's logger with the secrets of URL paths redacted from the access and error logs."""

    def setup(self, cfg):
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.addFilter(RedactingFilter())

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) for key, value in atoms.items()}
