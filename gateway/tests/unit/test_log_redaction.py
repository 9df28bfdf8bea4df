"""A survey token travels in the URL path: the access log (deploy/gunicorn.conf.py's format) and the
error log show `[redacted]` in its place."""
from __future__ import annotations

import datetime as dt
import json
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


def test_a_mails_link_tokens_are_redacted_wherever_they_appear():
    for path in (f"/t/o/{TOKEN}", f"/t/c/{TOKEN}", f"/u/{TOKEN}", f"/c/{TOKEN}"):
        assert redact(f"GET {path} HTTP/1.1") == f"GET {path.replace(TOKEN, '[redacted]')} HTTP/1.1"
        assert redact(path) == path.replace(TOKEN, "[redacted]")
        assert TOKEN not in redact(f"https://crm.example{path}?x=1")
    assert redact("GET /api/v1/accounts/u/7 HTTP/1.1") == "GET /api/v1/accounts/u/7 HTTP/1.1"  # not a mail link


def test_personal_data_in_a_query_string_is_redacted_but_the_question_stays(capsys):
    logger = gunicorn_logger()
    path = "/api/v1/suppressions/check"
    query = "email=ann.lee%40example.com&limit=5"
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"{path}?{query}", "PATH_INFO": path, "QUERY_STRING": query,
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1"}
    response = SimpleNamespace(status="200 OK", sent=10, headers=[("X-Request-ID", "r1")])
    logger.access(response, SimpleNamespace(headers=[]), environ, dt.timedelta(milliseconds=5))
    line = capsys.readouterr().out
    assert '"GET /api/v1/suppressions/check?email=[redacted]&limit=5 HTTP/1.1" 200' in line
    assert "ann.lee" not in line
    assert redact("/api/v1/leads?q=Zhang+Wei&phone=%2B8613800&sort=-created_at") == \
        "/api/v1/leads?q=[redacted]&phone=[redacted]&sort=-created_at"
    assert redact("/api/v1/leads?status=new&limit=50") == "/api/v1/leads?status=new&limit=50"


def test_json_access_lines_are_one_object_each_and_redacted(capsys, monkeypatch):
    monkeypatch.setenv("CRM_LOG_FORMAT", "json")
    logger = gunicorn_logger()
    path = f"/api/v1/surveys/{TOKEN}/responses"
    environ = {"REQUEST_METHOD": "POST", "RAW_URI": f"{path}?email=ann%40example.com", "PATH_INFO": path,
               "QUERY_STRING": "email=ann%40example.com", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.7"}
    response = SimpleNamespace(status="201 CREATED", sent=10, headers=[("X-Request-ID", "r-9")])
    logger.access(response, SimpleNamespace(headers=[]), environ, dt.timedelta(milliseconds=5))
    line = capsys.readouterr().out.strip().splitlines()[-1]
    entry = json.loads(line)
    assert entry["service"] == "gateway" and entry["request_id"] == "r-9" and entry["status"] == "201"
    assert entry["path"] == "/api/v1/surveys/[redacted]/responses" and entry["method"] == "POST"
    assert TOKEN not in line and "ann" not in line


EVERY_ATOM = ('%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(m)s %(U)s %(q)s %(H)s %(b)s %(B)s "%(f)s" "%(a)s" %(T)s %(D)s '
              '%(M)s %(L)s %(p)s %({X-Forwarded-For}i)s %({x-request-id}o)s %({x-absent}i)s %({remote_port}e)s '
              '%({HTTP_X_TRACE}e)s %(zz)s')


def test_an_access_line_is_the_one_gunicorns_own_atoms_make_redacted(capsys, monkeypatch):
    """The line is made of the named atoms only: the same text as gunicorn's every atom, redacted, would give --
    the deployed format and one naming every kind of atom (a header sent twice: its last value, as gunicorn's)."""
    from gunicorn.glogging import Logger, SafeAtoms
    monkeypatch.setattr(Logger, "now", lambda self: "[06/Dec/2026:21:00:00 +0000]")
    path = f"/api/v1/surveys/{TOKEN}/responses"
    environ = {"REQUEST_METHOD": "POST", "RAW_URI": f"{path}?email=ann%40example.com", "PATH_INFO": path,
               "QUERY_STRING": "email=ann%40example.com", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.7",
               "REMOTE_PORT": "51234", "HTTP_X_TRACE": 'a "quoted" trace', "HTTP_USER_AGENT": 'curl "8"',
               "HTTP_AUTHORIZATION": "Basic YW5uOnNlY3JldA==", "HTTP_REFERER": f"https://portal.example{path}"}
    request = SimpleNamespace(headers=[("X-FORWARDED-FOR", "203.0.113.9"), ("USER-AGENT", 'curl "8"'),
                                       ("x-forwarded-for", "198.51.100.4")])
    response = SimpleNamespace(status="201 CREATED", sent=412, headers=[("X-Request-ID", "r-7"), ("ETag", '"3"')])
    took = dt.timedelta(seconds=1, microseconds=45_678)
    for fmt in (runpy.run_path(str(CONF))["access_log_format"], EVERY_ATOM):
        logger = gunicorn_logger()
        logger.cfg.set("access_log_format", fmt)
        logger.setup(logger.cfg)
        capsys.readouterr()
        logger.access(response, request, environ, took)
        line = capsys.readouterr().out.strip()
        every = Logger.atoms(logger, response, request, environ, took)
        assert line == fmt % SafeAtoms({key: redact(value) for key, value in every.items()})
        assert TOKEN not in line and "ann%40" not in line
    assert line.endswith('198.51.100.4 r-7 - 51234 a \\"quoted\\" trace -')
