"""Every failure as RFC 9457 problem details (application/problem+json)."""
from __future__ import annotations

import logging

from flask import Response, g, json
from marshmallow import INCLUDE, Schema, fields
from werkzeug.exceptions import HTTPException

from crm_common.errors import CODES, ServiceError

log = logging.getLogger(__name__)

class ProblemSchema(Schema):
    """RFC 9457 problem details; a problem may carry more members (duplicates, conflicts, missing)."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.Dict(keys=fields.String())
    request_id = fields.String()


STATUS_CODES = {status: code for code, (status, _title) in CODES.items()}
MEDIA_TYPE = "application/problem+json"


def problem(status: int, detail: str = "", errors: dict | None = None, code: str | None = None,
            title: str | None = None, headers: dict | None = None, **extra) -> Response:
    code = code or STATUS_CODES.get(status, "internal" if status >= 500 else "bad_request")
    body = {"type": f"urn:crm:problem:{code}", "title": title or CODES.get(code, (status, "Error"))[1],
            "status": status, "detail": detail or CODES.get(code, (status, "Error"))[1]}
    if errors:
        body["errors"] = errors
    for key, value in extra.items():  # an extra member never overwrites the problem's own
        body.setdefault(key, value)
    request_id = getattr(g, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def from_service_error(exc: ServiceError) -> Response:
    headers = {}
    if exc.code == "rate_limited" and exc.extra.get("retry_after"):
        headers["Retry-After"] = str(int(exc.extra["retry_after"]))
    extra = {k: v for k, v in exc.extra.items() if k != "retry_after"}
    return problem(exc.status, exc.detail, exc.errors, code=exc.code, headers=headers, **extra)


def flatten_webargs(messages) -> dict:
    """webargs nests errors by location ({"json": {...}, "query": {...}}); clients want field -> messages."""
    errors: dict = {}
    if not isinstance(messages, dict):
        return {"_body": messages if isinstance(messages, list) else [str(messages)]}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            for name, msgs in fields.items():
                errors[str(name)] = msgs if isinstance(msgs, (list, dict)) else [str(msgs)]
        else:
            errors[f"_{location}"] = fields if isinstance(fields, list) else [str(fields)]
    return errors


def from_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    if status == 422 and messages:
        return problem(422, "the request has invalid fields", flatten_webargs(messages))
    if status == 400 and messages:
        return problem(400, "the request body is not valid JSON", flatten_webargs(messages))
    headers = {}
    if status == 405 and exc.valid_methods if hasattr(exc, "valid_methods") else False:
        headers["Allow"] = ", ".join(exc.valid_methods)
    detail = exc.description if status != 500 else ""
    return problem(status, detail, headers=headers)


def unexpected(exc: Exception) -> Response:
    log.exception("unexpected error")
    return problem(500, "an unexpected error occurred; quote the request id when reporting it")
