"""What a delivery sends: its body (the event, plain or as a CloudEvent) and its Standard Webhooks headers.

`webhook-signature` is `v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">` keyed with the
base64-decoded part of the `whsec_` secret; during a rotation's grace both secrets sign (two signatures,
space-separated), so a receiver that still has the old secret keeps verifying.
"""
from __future__ import annotations

import base64
import functools
import hmac
import json
import secrets as _secrets

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(_secrets.token_bytes(24)).decode()


@functools.lru_cache(maxsize=1024)
def _key(secret: str) -> bytes:
    """The HMAC key of a secret (decoded once per secret: a webhook signs every delivery with the same)."""
    return base64.b64decode(secret[len(PREFIX):] if secret.startswith(PREFIX) else secret)


def _sign(key: bytes, signed: bytes) -> str:
    return "v1," + base64.b64encode(hmac.digest(key, signed, "sha256")).decode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    return _sign(_key(secret), f"{message_id}.{timestamp}.".encode() + body)


def headers(message_id: str, timestamp: int, body: bytes, *secrets: str, cloudevents: bool = False) -> dict:
    """The headers of one attempt: id, timestamp, one signature per secret still signing (the signed text
    built once for all of them)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return {"content-type": "application/cloudevents+json" if cloudevents else "application/json",
            "user-agent": "crm-webhooks/1", "webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join([_sign(_key(s), signed) for s in secrets if s])}


def body(envelope: dict, fmt: str) -> bytes:
    """The event as the webhook's format has it: Standard Webhooks' `{type, timestamp, data}` (with the
    event's id, producer, entity and action) or a CloudEvents 1.0 JSON event."""
    if fmt == "cloudevents":
        payload = {"specversion": "1.0", "id": envelope["event_id"], "source": f"/crm/{envelope.get('producer') or 'crm'}",
                   "type": envelope["type"], "time": envelope.get("occurred_at"),
                   "datacontenttype": "application/json", "data": envelope.get("data") or {}}
    else:
        payload = {"type": envelope["type"], "timestamp": envelope.get("occurred_at"), "event_id": envelope["event_id"],
                   "producer": envelope.get("producer"), "entity": envelope.get("entity"),
                   "action": envelope.get("action"), "data": envelope.get("data") or {}}
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
