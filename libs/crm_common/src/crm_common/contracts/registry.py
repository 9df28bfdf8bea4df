"""The registry of contracts: every event type (versioned) and every RPC method's schemas.

Each service declares its own contracts in its contracts package (`crm_sales_contracts`...), which
registers them here when imported: the service itself, the gateway and the docs import it. A consumer
never needs a producer's package: it declares the fields it reads (`crm_common.entrypoint.reads`), and
the envelope names the entity and action an event is about.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from marshmallow import Schema

EVENT_TYPE_RE = re.compile(r"^(?P<owner>[a-z_]+)\.(?P<name>[a-z_]+)\.v(?P<version>[0-9]+)$")


@dataclass(frozen=True)
class EventContract:
    type: str
    owner: str
    name: str
    version: int
    schema: type[Schema]
    description: str = ""
    entity: str | None = None  # the resource the event is about (audit trail, privacy); FROM_DATA: data["entity"]
    action: str | None = None  # create | update | ... (audit trail); FROM_DATA: data["action"]

    def entity_of(self, data: dict) -> str | None:
        """The resource an event with this data is about (None: not an audited change)."""
        return _named(data, "entity") if self.entity == FROM_DATA else self.entity

    def action_of(self, data: dict) -> str | None:
        return _named(data, "action") if self.action == FROM_DATA else self.action


FROM_DATA = "*"  # an event contract's entity or action that each event names in its data (generic events)


def _named(data: dict, key: str) -> str | None:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class RpcContract:
    """One RPC method: its input and output schemas, whether it acts on one record (the record id travels
    as the call's `id` keyword), and the role permission a caller needs: `(resource, action)`, checked by
    the service's entrypoint before any work (None: the method decides, e.g. a user's own profile)."""

    service: str
    method: str
    input: type[Schema] | None
    output: type[Schema] | None
    many: bool = False
    description: str = ""
    permission: tuple[str, str] | None = None
    record: bool = False


EVENTS: dict[str, EventContract] = {}
RPCS: dict[str, RpcContract] = {}


def event(owner: str, name: str, version: int, schema: type[Schema], description: str = "",
          entity: str | None = None, action: str | None = None) -> str:
    """Declare an event type; returns its full name, e.g. ``sales.lead_created.v1``."""
    type_ = f"{owner}.{name}.v{version}"
    if not EVENT_TYPE_RE.match(type_):
        raise ValueError(f"bad event type {type_!r}")
    if type_ in EVENTS and EVENTS[type_].schema is not schema:
        raise ValueError(f"event {type_} declared twice")
    EVENTS[type_] = EventContract(type_, owner, name, version, schema, description, entity, action)
    return type_


def rpc(service: str, method: str, input: type[Schema] | None = None, output: type[Schema] | None = None,
        many: bool = False, description: str = "", permission: tuple[str, str] | None = None,
        record: bool = False) -> RpcContract:
    key = f"{service}.{method}"
    if key in RPCS:
        raise ValueError(f"rpc {key} declared twice")
    contract = RpcContract(service, method, input, output, many, description, permission, record)
    RPCS[key] = contract
    return contract


def event_contract(type_: str) -> EventContract:
    try:
        return EVENTS[type_]
    except KeyError:
        raise KeyError(f"undeclared event type {type_!r}") from None


@functools.lru_cache(maxsize=None)
def instance(schema: type[Schema]) -> Schema:
    """One instance per schema class: building one copies its fields (a third of a millisecond), using it
    keeps no state between calls."""
    return schema()


def validate_event_data(type_: str, data: dict) -> dict:
    """Errors of `data` against the event's schema ({} when valid)."""
    return instance(event_contract(type_).schema).validate(data)
