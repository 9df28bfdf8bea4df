"""A survey token travels in the URL path: the access log (deploy/gunicorn.conf.py's format) and the
error log show `[redacted]` in its place."""
from __future__ import annotations

import datetime as dt
import logging
import runpy
from pathlib import Path
from types import SimpleNamespace

from gunicorn.config import Config

from crm_gateway.redaction import RedactingFilter, RedactingLogger, redact

TOKEN = "Zq3v9X-secret_token_AAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
CONF = Path(__file__).resolve().parents[3] / "deploy" / "gunicorn.conf.py"


def gunicorn_logger():
    cfg = Config()
    settings = runpy.run_path(str(CONF))
    for name in ("access_log_format", "logger_class", "accesslog", "errorlog"):
        cfg.set(name, settings[name])
    assert cfg.logger_class is RedactingLogger
    return cfg.logger_class(cfg)


def test_the_access_log_line_of_a_survey_answer_has_no_token(capsys):
    logger = gunicorn_logger()
    path = f"/api/v1/surveys/{TOKEN}/responses"
    environ = {"REQUEST_METHOD": "POST", "RAW_URI": path, "PATH_INFO": path, "QUERY_STRING": "",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
               "HTTP_REFERER": f"https://portal.example/api/v1/surveys/{TOKEN}/responses"}
    response = SimpleNamespace(status="201 CREATED", sent=10, headers=[("X-Request-ID", "r1")])
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    logger.access(response, request, environ, dt.timedelta(milliseconds=5))
    line = capsys.readouterr().out
    assert '"POST /api/v1/surveys/[redacted]/responses HTTP/1.1" 201' in line
    assert TOKEN not in line


def test_the_error_log_and_the_gateway_lines_have_no_token(capsys):
    logger = gunicorn_logger()
    logger.error("Error handling request %s", f"/api/v1/surveys/{TOKEN}/responses")
    assert TOKEN not in capsys.readouterr().out
    assert redact(f"POST /api/v1/surveys/{TOKEN}/responses 201") == "POST /api/v1/surveys/[redacted]/responses 201"
    assert redact("/api/v1/surveys/summary") == "/api/v1/surveys/summary"
    record = logging.LogRecord("crm_gateway", logging.INFO, __file__, 1, "POST %s", (f"/api/v1/surveys/{TOKEN}/responses",),
                               None)
    assert RedactingFilter().filter(record) and record.getMessage() == "POST /api/v1/surveys/[redacted]/responses"
