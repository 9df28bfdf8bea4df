"""CRM_LOG_FORMAT=json: a service's lines are JSON objects naming the service, the request and the caller's id
(never their email), with the traceback of an error in `error`; the text format names them too."""
from __future__ import annotations

import io
import json
import logging

from crm_common import logs
from crm_common.context import Actor


def logger_with(formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(logs.RequestIdFilter())
    logger = logging.getLogger(f"test.json.{id(stream)}")
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_a_json_line_names_the_service_the_request_and_the_callers_id(monkeypatch):
    monkeypatch.setenv("CRM_LOG_FORMAT", "json")
    logger, stream = logger_with(logs.formatter("sales"))
    logs._local.request_id = "req-7"
    logs._local.actor = Actor(user_id="u-42", email="ann@example.com", roles=("sales_rep",)).encode()
    try:
        logger.info("lead %s assigned", "L-1")
        try:
            raise RuntimeError("database went away")
        except RuntimeError:
            logger.exception("scan failed")
    finally:
        logs._local.request_id = logs._local.actor = None
    first, second = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert first == {**first, "level": "INFO", "service": "sales", "request_id": "req-7", "actor_id": "u-42",
                     "message": "lead L-1 assigned"}
    assert "database went away" in second["error"] and second["level"] == "ERROR"
    assert "ann@example.com" not in stream.getvalue()


def test_the_text_format_names_the_request_and_the_caller_too(monkeypatch):
    monkeypatch.delenv("CRM_LOG_FORMAT", raising=False)
    logger, stream = logger_with(logs.formatter("identity"))
    logger.info("no worker here")
    assert " identity INFO " in stream.getvalue() and "[- -]" in stream.getvalue()
