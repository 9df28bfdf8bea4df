"""Secrets that travel in URL paths (a survey token, a mail's tracking, unsubscribe and opt-in tokens) and
personal data in query strings (`?email=`, `?phone=`, a search's `?q=`) never reach a log line.

`redact(text)` replaces each such value with `[redacted]`; gunicorn uses `RedactingLogger`
(`logger_class` in deploy/gunicorn.conf.py), which redacts every atom of the access log (request
line, path, referer, headers) and every message of its error log; the gateway's own log lines
redact the paths they name.
"""
from __future__ import annotations

import json
import logging
import os
import re
import traceback
from datetime import datetime, timezone

from gunicorn.glogging import Logger, SafeAtoms

REDACTED = "[redacted]"
# each pattern's group 1 is the secret; its marker, text that every match holds, is looked for first (a
# substring test: every atom of every access log line goes through here, and almost none holds a secret)
_MAIL_LINK = re.compile(r"(?:^|[\s\"]|//[^/\s\"]+)/(?:t/o|t/c|u|c)/([^/?#\s\"]+)")  # a mail's links (marketing)
SECRET_PATHS = (
    ("/api/v1/surveys/", re.compile(r"/api/v1/surveys/([^/?#\s\"]+)/responses")),
    ("/t/o/", _MAIL_LINK), ("/t/c/", _MAIL_LINK), ("/u/", _MAIL_LINK), ("/c/", _MAIL_LINK),
)
# query parameters whose values are personal data or secrets: the key stays (what was asked), the value goes
PERSONAL_QUERY = re.compile(r"((?:^|[?&])(?:email|phone|mobile|q|search|token|first_name|last_name|name)=)([^&\s\"#]+)",
                            re.IGNORECASE)  # after ? or &, or at the start of a query string on its own (an atom)


def redact(text):
    """`text` with the secrets of SECRET_PATHS replaced (anything that is not a str is returned as is)."""
    if not isinstance(text, str):
        return text
    for marker, pattern in SECRET_PATHS:
        if marker in text:
            text = pattern.sub(lambda m: m.group(0).replace(m.group(1), REDACTED), text)
    if "=" in text:
        text = PERSONAL_QUERY.sub(lambda m: m.group(1) + REDACTED, text)
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


class RedactingAtoms(SafeAtoms):
    """gunicorn's atoms of an access line (SafeAtoms: '-' for a missing one, double quotes escaped), each redacted
    when the format reads it: the format names ten atoms of the dozens gunicorn makes (every request and
    response header, every environ value), so the others are never redacted for nothing."""

    def __init__(self, atoms):
        dict.__init__(self, atoms)  # as they are: redacted, then escaped, on reading

    def __getitem__(self, key):
        value = super().__getitem__(key)
        return redact(value).replace('"', '\\"') if isinstance(value, str) else value


# the atoms gunicorn makes from the request and response alone, as its Logger.atoms makes them; every other atom a
# format names is taken from gunicorn's own (Logger.atoms), made only when a format names one
_PLAIN_ATOMS = {
    "h": lambda resp, environ, took: environ.get("REMOTE_ADDR", "-"),
    "r": lambda resp, environ, took: f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}",
    "s": lambda resp, environ, took: resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status,
    "m": lambda resp, environ, took: environ.get("REQUEST_METHOD"),
    "U": lambda resp, environ, took: environ.get("PATH_INFO"),
    "q": lambda resp, environ, took: environ.get("QUERY_STRING"),
    "H": lambda resp, environ, took: environ.get("SERVER_PROTOCOL"),
    "b": lambda resp, environ, took: getattr(resp, "sent", None) is not None and str(resp.sent) or "-",
    "B": lambda resp, environ, took: getattr(resp, "sent", None),
    "f": lambda resp, environ, took: environ.get("HTTP_REFERER", "-"),
    "a": lambda resp, environ, took: environ.get("HTTP_USER_AGENT", "-"),
    "M": lambda resp, environ, took: took.seconds * 1000 + int(took.microseconds / 1000),
}
_NAMED = re.compile(r"%\(([^)]*)\)")  # an atom a %-format names
JSON_ATOMS = ("{x-request-id}o", "h", "{x-forwarded-for}i", "m", "U", "q", "s", "B", "M")  # what a JSON line holds


def _items(headers):
    """A request's or response's headers as gunicorn's atoms read them: (name, value) pairs."""
    return headers.items() if hasattr(headers, "items") else headers


class RedactingLogger(Logger):
    """gunicorn's logger with the secrets of URL paths redacted from the access and error logs. An access line
    is made of the atoms its format names only (gunicorn's Logger.atoms makes one of every request and response
    header and every environ value, dozens a request, for a format that reads ten)."""

    def setup(self, cfg):
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.addFilter(RedactingFilter())
        # SafeAtoms looks a {header} atom up in lower case
        self._line_atoms = tuple(dict.fromkeys(name.lower() if name.startswith("{") else name
                                               for name in _NAMED.findall(cfg.access_log_format)))

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) for key, value in atoms.items()}

    def named_atoms(self, names, resp, req, environ, request_time) -> dict:
        """The atoms `names` of gunicorn's Logger.atoms (as they are: not redacted), those it would make and only
        those; a {header} atom gunicorn would not make (no such header) is left out, as there."""
        atoms, every = {}, None
        for name in names:
            plain = _PLAIN_ATOMS.get(name)
            if plain is not None:
                atoms[name] = plain(resp, environ, request_time)
            elif name == "t":
                atoms[name] = self.now()
            elif name.startswith("{") and name[-2:] in ("}i", "}o"):  # the last header of that name, as there
                wanted = name[1:-2]
                pairs = _items(resp.headers if name[-1] == "o" else getattr(req, "headers", req))
                for key, value in pairs:
                    if key.lower() == wanted:
                        atoms[name] = value
            else:  # an environ value or a rarer atom: gunicorn's own, made once
                if every is None:
                    every = super().atoms(resp, req, environ, request_time)
                if name in every:
                    atoms[name] = every[name]
        return atoms

    def access(self, resp, req, environ, request_time):
        """With CRM_LOG_FORMAT=json, one JSON object per request (the same redacted atoms); else gunicorn's line,
        each atom the format names redacted as it is read (RedactingAtoms)."""
        if not self.access_log_enabled:
            return None
        if os.environ.get("CRM_LOG_FORMAT", "text") != "json":
            try:
                self.access_log.info(self.cfg.access_log_format, RedactingAtoms(
                    self.named_atoms(self._line_atoms, resp, req, environ, request_time)))
            except Exception:
                self.error(traceback.format_exc())
            return None
        atoms = {key: redact(value) for key, value in
                 self.named_atoms(JSON_ATOMS, resp, req, environ, request_time).items()}
        entry = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "level": "INFO",
                 "service": "gateway", "logger": "access", "request_id": atoms.get("{x-request-id}o", "-"),
                 "client": atoms.get("h"), "forwarded_for": atoms.get("{x-forwarded-for}i", "-"),
                 "method": atoms.get("m"), "path": atoms.get("U"), "query": atoms.get("q"),
                 "status": atoms.get("s"), "bytes": atoms.get("B"), "duration_ms": atoms.get("M")}
        self.access_log.info(json.dumps(entry, ensure_ascii=False, default=str))
        return None
