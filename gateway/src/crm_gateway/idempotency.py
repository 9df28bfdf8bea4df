"""`Idempotency-Key` on POST: a repeat within 24 h returns the first response and creates nothing.

Records live in the gateway's own small database (SQLite under var/ or GATEWAY_DATABASE_URL), so
every gunicorn worker and replica sees them. A repeat with another body is a 422; a repeat while
the first is still running is a 409.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
from datetime import timedelta

from flask import Response, current_app, g, request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from crm_common.db import utcnow
from crm_common.errors import ServiceError
from crm_gateway.models import IdempotencyRecord

KEY_RE = re.compile(r"^[A-Za-z0-9_.:-]{8,200}$")
TTL = timedelta(hours=24)


def idempotent(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view(*args, **kwargs)
        if not KEY_RE.match(key):
            raise ServiceError("validation_failed", "Idempotency-Key must be 8 to 200 letters, digits or ._:-",
                               errors={"Idempotency-Key": ["invalid format"]})
        engine = current_app.extensions["crm_db"]
        owner = getattr(g, "actor", None)
        owner_id = (owner.user_id or owner.kind) if owner else "anonymous"
        digest = hashlib.sha256(request.get_data() or b"").hexdigest()
        scope = f"{request.method} {request.path}"
        now = utcnow()
        with engine.begin() as conn:
            conn.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - TTL))
            existing = conn.execute(select(IdempotencyRecord).where(
                IdempotencyRecord.owner_id == owner_id, IdempotencyRecord.key == key)).first()
        if existing is not None:
            return _replay(existing, digest, scope)
        try:
            with engine.begin() as conn:
                conn.execute(IdempotencyRecord.__table__.insert().values(
                    owner_id=owner_id, key=key, scope=scope, body_hash=digest, created_at=now))
        except IntegrityError:
            with engine.connect() as conn:
                existing = conn.execute(select(IdempotencyRecord).where(
                    IdempotencyRecord.owner_id == owner_id, IdempotencyRecord.key == key)).first()
            return _replay(existing, digest, scope)
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except Exception:
            with engine.begin() as conn:  # failed: the key may be used again
                conn.execute(delete(IdempotencyRecord).where(IdempotencyRecord.owner_id == owner_id,
                                                             IdempotencyRecord.key == key))
            raise
        if response.status_code >= 500:
            with engine.begin() as conn:
                conn.execute(delete(IdempotencyRecord).where(IdempotencyRecord.owner_id == owner_id,
                                                             IdempotencyRecord.key == key))
            return response
        headers = {k: v for k, v in response.headers.items() if k in ("Location", "ETag", "Content-Type")}
        with engine.begin() as conn:
            conn.execute(update(IdempotencyRecord).where(
                IdempotencyRecord.owner_id == owner_id, IdempotencyRecord.key == key).values(
                status=response.status_code, headers=json.dumps(headers), body=response.get_data(as_text=True)))
        return response

    return wrapper


def _replay(record, digest: str, scope: str):
    if record.body_hash != digest or record.scope != scope:
        raise ServiceError("validation_failed", "this Idempotency-Key was used with a different request",
                           errors={"Idempotency-Key": ["already used with a different request"]})
    if record.status is None:
        raise ServiceError("conflict", "a request with this Idempotency-Key is still being processed")
    response = Response(record.body, status=record.status)
    for key, value in json.loads(record.headers or "{}").items():
        response.headers[key] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response
