"""Shared shape of a service's answer to a privacy request (`<service>.privacy_part_completed.v1`)."""
from __future__ import annotations

from marshmallow import Schema, fields

PRIVACY_REQUESTED = "identity.privacy_requested.v1"


class RequestFields(Schema):
    """What every service reads of `identity.privacy_requested.v1` (a tolerant reader's slim copy)."""

    request_id = fields.String(required=True)
    kind = fields.String(required=True)  # erase | export
    email = fields.String(required=True)


def part(request: dict, service: str, status: str = "done", data: dict | None = None,
         counts: dict | None = None) -> dict:
    """The event data answering `request` (the privacy_requested data) for `service`."""
    return {"request_id": request["request_id"], "service": service, "status": status,
            "data": data if request.get("kind") == "export" else None, "counts": counts or {}}
