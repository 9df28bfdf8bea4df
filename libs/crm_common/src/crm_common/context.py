"""The caller (actor) and the request id, carried through RPC headers and event envelopes."""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

ACTOR_KEY = "crm_actor"
REQUEST_ID_KEY = "request_id"
IDEMPOTENCY_KEY = "crm_idempotency_key"  # a request's Idempotency-Key, for the route's one call (crm_common.idempotency)
IDEMPOTENCY_FINGERPRINT = "crm_idempotency_fingerprint"  # the hash of that request's method, path and body

SCOPES = ("none", "own", "team", "territory", "all")


@dataclass(frozen=True)
class Actor:
    """Who is calling: a user, an API key, a portal customer or the system itself."""

    user_id: str | None = None
    kind: str = "user"  # user | api_key | customer | system
    email: str | None = None
    roles: tuple[str, ...] = ()
    team_id: str | None = None
    territory_ids: tuple[str, ...] = ()
    perms: dict = field(default_factory=dict)  # resource -> {action: scope}
    account_id: str | None = None  # portal customers: their account
    contact_id: str | None = None
    client_ip: str | None = None  # set by the gateway from the request
    partner_id: str | None = None  # partner users (role partner): the partner whose records they see
    api_key_id: str | None = None  # an API key's own id (kind api_key): events name the key, the audit shows it

    def scope(self, resource: str, action: str) -> str:
        """The widest scope this actor has for `action` on `resource` ("none" when not granted)."""
        if self.kind == "system":
            return "all"
        granted = self.perms.get(resource, {}) or {}
        star = self.perms.get("*", {}) or {}
        best = "none"
        for value in (granted.get(action), granted.get("*"), star.get(action), star.get("*")):
            if value and SCOPES.index(value) > SCOPES.index(best):
                best = value
        return best

    def can(self, resource: str, action: str) -> bool:
        return self.scope(resource, action) != "none"

    @property
    def is_admin(self) -> bool:
        return self.kind == "system" or "admin" in self.roles

    def to_dict(self) -> dict:
        # by hand: dataclasses.asdict deep-copies recursively, and this runs on every call the gateway makes
        return {"user_id": self.user_id, "kind": self.kind, "email": self.email, "roles": list(self.roles),
                "team_id": self.team_id, "territory_ids": list(self.territory_ids),
                "perms": {resource: dict(actions) if isinstance(actions, dict) else actions
                          for resource, actions in self.perms.items()},
                "account_id": self.account_id, "contact_id": self.contact_id, "client_ip": self.client_ip,
                "partner_id": self.partner_id, "api_key_id": self.api_key_id}

    @classmethod
    def from_dict(cls, data: dict | None) -> "Actor | None":
        if not data:
            return None
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["roles"] = tuple(known.get("roles") or ())
        known["territory_ids"] = tuple(known.get("territory_ids") or ())
        known["perms"] = dict(known.get("perms") or {})
        return cls(**known)

    def encode(self) -> str:
        """The actor as JSON, worked out once per instance (an Actor does not change): the gateway signs
        it into every call it makes for a request."""
        encoded = self.__dict__.get("_encoded")
        if encoded is None:
            encoded = json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)
            object.__setattr__(self, "_encoded", encoded)
        return encoded

    def from_address(self, client_ip: str | None) -> "Actor":
        """This actor with the client address of a request; the copy is kept for the next request of the
        same caller from the same address (the gateway's cached token actors), with its encoding."""
        kept = self.__dict__.get("_from_address")
        if kept is not None and kept[0] == client_ip:
            return kept[1]
        actor = self if self.client_ip == client_ip else dataclasses.replace(self, client_ip=client_ip)
        object.__setattr__(self, "_from_address", (client_ip, actor))
        return actor

    @classmethod
    def decode(cls, raw) -> "Actor | None":
        if raw in (None, ""):
            return None
        if isinstance(raw, (bytes, bytearray)):
            raw = raw.decode()
        if isinstance(raw, str):
            return _decoded(raw) if cls is Actor else cls.from_dict(json.loads(raw))
        return cls.from_dict(raw)


@functools.lru_cache(maxsize=4096)
def _decoded(raw: str) -> "Actor | None":
    """A service decodes the same few callers' actors again and again (the signature check, then the
    unit of work): decoded once each. The instance is shared; an Actor is never changed."""
    return Actor.from_dict(json.loads(raw))


SYSTEM = Actor(user_id=None, kind="system", roles=("system",))


def context_data(actor: Actor | None, request_id: str | None) -> dict:
    """What a caller puts in nameko's context data for one call."""
    data = {REQUEST_ID_KEY: request_id or new_request_id()}
    if actor is not None:
        data[ACTOR_KEY] = actor.encode()
    return data


def actor_from_context(data: dict | None) -> Actor | None:
    return Actor.decode((data or {}).get(ACTOR_KEY))


def request_id_from_context(data: dict | None) -> str | None:
    return (data or {}).get(REQUEST_ID_KEY)


def new_request_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Context:
    """What a domain function gets: the transaction's session, who is calling, and how to emit an event
    into the same transaction (`ctx.emit(type, data)`); `after_commit` runs a callable once it commits."""

    session: Any
    caller: Actor
    emit: Callable[..., dict]
    request_id: str | None = None
    service: Any = None  # the nameko service instance: its dependencies (a job runner) for after_commit
    uow: Any = None
    _after: list = field(default_factory=list)

    def after_commit(self, fn: Callable[[], Any]) -> None:
        self._after.append(fn)

    def read(self):
        """A Core connection for reading (see UnitOfWork.read); a Context without a unit of work (a domain
        test's) reads through its session."""
        if self.uow is None:
            return contextlib.nullcontext(self.session.connection())
        return self.uow.read()
