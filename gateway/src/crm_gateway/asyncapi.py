"""The event catalogue and /asyncapi.json (AsyncAPI 3.0), generated from the installed contracts packages.

Every event type the services declare (crm_common.contracts registry: `event(owner, name, version, Schema)`)
with its version, description, the entity and action it records, and its payload's JSON Schema, converted by
the same converter as /openapi.json. A message's payload in the AsyncAPI document is the envelope every
event travels in, its `data` the event's own schema.
"""
from __future__ import annotations

import functools

from apispec import APISpec

from crm_common.contracts import EVENTS, load_all
from crm_gateway.openapi import ContractPlugin

ENVELOPE_FIELDS = {
    "event_id": {"type": "string", "format": "uuid"},
    "type": {"type": "string"},
    "occurred_at": {"type": "string", "format": "date-time"},
    "producer": {"type": "string"},
    "actor": {"type": ["object", "null"]},
    "request_id": {"type": ["string", "null"]},
    "entity": {"type": ["string", "null"]},
    "action": {"type": ["string", "null"]},
}


def _converter():
    plugin = ContractPlugin()
    spec = APISpec("events", "1", "3.0.3", plugins=[plugin])
    return spec, plugin.converter


def _schemas() -> tuple[dict, dict]:
    """event type -> JSON Schema of its data; and the named schemas they refer to (`#/components/schemas`)."""
    load_all()
    spec, converter = _converter()
    payloads = {}
    for type_ in sorted(EVENTS):
        payloads[type_] = converter.schema2jsonschema(EVENTS[type_].schema)
    return payloads, spec.to_dict().get("components", {}).get("schemas", {})


@functools.lru_cache(maxsize=1)
def catalog() -> dict:
    """`{"items": [{type, producer, name, version, description, entity, action, schema}], "schemas": {...}}`."""
    payloads, named = _schemas()
    items = [{"type": t, "producer": EVENTS[t].owner, "name": EVENTS[t].name, "version": EVENTS[t].version,
              "description": EVENTS[t].description or "", "entity": _said(EVENTS[t].entity),
              "action": _said(EVENTS[t].action), "schema": payloads[t]} for t in sorted(EVENTS)]
    return {"items": items, "schemas": named}


def _said(value: str | None) -> str | None:
    return None if value == "*" else value  # FROM_DATA: each event names it in its data


@functools.lru_cache(maxsize=1)
def document() -> dict:
    """The AsyncAPI 3.0 document: one channel per producer's exchange, one message and operation per type."""
    payloads, named = _schemas()
    channels: dict = {}
    operations: dict = {}
    messages: dict = {}
    for type_, contract in sorted(EVENTS.items()):
        key = type_.replace(".", "_")
        messages[key] = {
            "name": type_, "title": type_, "summary": contract.description or type_,
            "contentType": "application/json",
            "payload": {"type": "object", "required": ["event_id", "type", "occurred_at", "data"],
                        "properties": {**ENVELOPE_FIELDS, "type": {"type": "string", "const": type_},
                                       "data": payloads[type_]}},
        }
        channel = channels.setdefault(contract.owner, {
            "address": f"{contract.owner}.events", "messages": {},
            "description": f"The events of the {contract.owner} service (a topic exchange; routing key = type)."})
        channel["messages"][key] = {"$ref": f"#/components/messages/{key}"}
        operations[f"receive_{key}"] = {"action": "receive", "channel": {"$ref": f"#/channels/{contract.owner}"},
                                        "messages": [{"$ref": f"#/channels/{contract.owner}/messages/{key}"}]}
    return {"asyncapi": "3.0.0",
            "info": {"title": "CRM suite events", "version": "1",
                     "description": "Every business event of the suite, as its producer declares it. The same events "
                                    "reach integrations by GET /api/v1/events and by webhooks."},
            "defaultContentType": "application/json",
            "channels": channels, "operations": operations,
            "components": {"messages": messages, "schemas": named}}
