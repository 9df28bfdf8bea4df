"""Shared shape of a service's answer to a privacy request (`<service>.privacy_part_completed.v1`)."""
from __future__ import annotations

import json

from marshmallow import Schema, fields
from sqlalchemy import Text, cast, func, or_

PRIVACY_REQUESTED = "identity.privacy_requested.v1"
PART = ".privacy_part_completed.v1"  # the end of every `<service>.privacy_part_completed.v1`


class RequestFields(Schema):
    """What every service reads of `identity.privacy_requested.v1` (a tolerant reader's slim copy)."""

    request_id = fields.String(required=True)
    kind = fields.String(required=True)  # erasure | export
    email = fields.String(required=True)


def part(request: dict, service: str, status: str = "done", data: dict | None = None,
         counts: dict | None = None) -> dict:
    """The event data answering `request` (the privacy_requested data) for `service`."""
    return {"request_id": request["request_id"], "service": service, "status": status,
            "data": data if request.get("kind") == "export" else None, "counts": counts or {}}


def without_export(envelope: dict) -> dict:
    """`envelope` as a service that keeps or passes on every event may keep it (analytics' log, the integration
    feed and its webhooks): a privacy part's `data`, what a service holds of the person for identity alone to
    collect, set to None as an erasure's part has it; any other event as it is."""
    type_, data = envelope.get("type"), envelope.get("data")
    if type_.__class__ is not str or not type_.endswith(PART) or data.__class__ is not dict or data.get("data") is None:
        return envelope
    return {**envelope, "data": {**data, "data": None}}


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def naming(column, texts: list[str]):
    """A condition: the JSON (or plain) text of `column` holds any of `texts`, case-insensitive: how a service
    finds the rows of its copies of events and records that name a person (their email), or a record's id in
    quotes as JSON writes it. A scan of the table, for a request that comes rarely. A text beyond ASCII is looked
    for as itself and as JSON escapes it (`\\u00e9`): the JSON type writes its rows so, `jsontext.text` as they are."""
    lowered = func.lower(cast(column, Text))
    forms = dict.fromkeys(form for text in texts
                          for form in ((text,) if text.isascii() else (text, json.dumps(text)[1:-1])))
    return or_(*[lowered.like(_like(form), escape="\\") for form in forms])
