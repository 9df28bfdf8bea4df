"""API keys for integrations: a 256-bit secret shown once, stored as its SHA-256, scoped by roles.

A key acts for its owner with its roles' grants, but never with more than the owner holds now: demote
the owner and the key loses what the owner lost (at its next authentication)."""
from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

import crm_identity_contracts as c
from crm_common import scope
from crm_common.context import SCOPES, Actor
from crm_common.db import utcnow
from crm_common.context import Context
from crm_common.errors import ServiceError, validation
from crm_common.paging import paginate
from crm_common.permissions import ACTIONS, RESOURCES
from crm_identity.domain import roles, territories
from crm_identity.domain.tokens import digest
from crm_identity.models import ApiKey, User

KEY_PREFIX = "crm_"
SORTABLE = ("created_at", "name")


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def to_dict(key: ApiKey) -> dict:
    return {"id": key.id, "name": key.name, "prefix": key.prefix, "roles": list(key.roles or []),
            "owner_id": key.owner_id, "created_at": key.created_at, "expires_at": key.expires_at,
            "last_used_at": key.last_used_at, "revoked_at": key.revoked_at, "rate_limit": key.rate_limit}


def event_data(key: ApiKey) -> dict:
    return {"id": key.id, "name": key.name, "owner_id": key.owner_id, "roles": list(key.roles or [])}


def create(ctx: Context, data: dict) -> dict:
    """The key's record with its secret (`key`), shown this once."""
    session, actor = ctx.session, ctx.caller
    if not actor.can("api_key", "create"):
        raise ServiceError("forbidden", "your role may not create API keys")
    names = sorted(set(data["roles"]))
    unknown = roles.unknown_roles(session, names)
    if unknown:
        raise validation({"roles": [f"unknown role(s): {', '.join(unknown)}"]})
    if "customer" in names:
        raise validation({"roles": ["API keys are not for portal customers"]})
    wider = roles.grant_within(roles.perms_for(session, names), actor)
    if wider:
        raise validation({"roles": ["these roles grant more than your own: " + ", ".join(sorted(wider)[:10])]})
    if data.get("expires_at") is not None and data["expires_at"] <= utcnow():
        raise validation({"expires_at": ["must be in the future"]})
    secret = new_key()
    key = ApiKey(name=data["name"].strip(), prefix=secret[:12], key_hash=digest(secret), roles=names,
                 owner_id=actor.user_id if actor.kind in ("user", "customer") else None,
                 expires_at=data.get("expires_at"), rate_limit=data.get("rate_limit"), created_at=utcnow())
    session.add(key)
    session.flush()
    ctx.emit(c.API_KEY_CREATED, event_data(key))
    return {**to_dict(key), "key": secret}


def list_keys(ctx: Context, args: dict) -> dict:
    session = ctx.session
    query = scope.visible(select(ApiKey), ctx.caller, "api_key", "read", ApiKey)
    if not args.get("include_revoked"):
        query = query.where(ApiKey.revoked_at.is_(None))
    if args.get("q"):
        query = query.where(ApiKey.name.like(f"%{args['q']}%"))
    rows, cursor = paginate(session, query, ApiKey, args.get("sort") or "-created_at", args["limit"],
                            args.get("cursor"), SORTABLE)
    return {"items": [to_dict(k) for k in rows], "next_cursor": cursor}


def update(ctx: Context, key_id: str, data: dict, expected_version: int | None = None) -> dict:
    """Rename a key or set its own rate limit (None: the gateway's default). Keys have no versions: an If-Match
    is ignored. A revoked key stays as it was (404)."""
    key = scope.require(ctx.caller, "api_key", "update", ctx.session.get(ApiKey, key_id), "API key")
    if key.revoked_at is not None:
        raise ServiceError("not_found", "API key not found")
    if "name" in data:
        key.name = data["name"].strip()
    if "rate_limit" in data:
        key.rate_limit = data["rate_limit"]
    ctx.session.flush()
    return to_dict(key)


def revoke(ctx: Context, key_id: str, expected_version: int | None = None) -> None:
    """Revoke a key (nothing when it already was). Keys have no versions: an If-Match is ignored."""
    session = ctx.session
    key = scope.require(ctx.caller, "api_key", "delete", session.get(ApiKey, key_id), "API key")
    if key.revoked_at is not None:
        return
    key.revoked_at = utcnow()
    session.flush()
    ctx.emit(c.API_KEY_REVOKED, event_data(key))


def authenticate_key(ctx: Context, secret: str, client_ip: str | None = None) -> dict:
    """For the gateway: the actor a key stands for, with the key's id (it drops its cached copy of a key it
    revokes); ServiceError("unauthenticated") when the key is not usable."""
    record, actor = verify(ctx.session, secret)
    return actor.to_dict() | {"client_ip": client_ip, "api_key_id": record.id, "rate_limit": record.rate_limit}


def within(key: Actor, owner: Actor) -> dict:
    """The grants of `key` cut down to what `owner` holds: for every resource and action the narrower scope."""
    perms: dict = {}
    for resource in RESOURCES:
        for action in ACTIONS:
            narrower = min(key.scope(resource, action), owner.scope(resource, action), key=SCOPES.index)
            if narrower != "none":
                perms.setdefault(resource, {})[action] = narrower
    return perms


def authenticate(session: Session, secret: str) -> Actor:
    """The actor an API key stands for; ServiceError("unauthenticated") when it is not usable."""
    return verify(session, secret)[1]


def verify(session: Session, secret: str) -> tuple[ApiKey, Actor]:
    """The key and the actor it stands for; ServiceError("unauthenticated") when it is not usable."""
    refused = ServiceError("unauthenticated", "missing or invalid credentials")
    if not isinstance(secret, str) or not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        raise refused
    key = session.execute(select(ApiKey).where(ApiKey.key_hash == digest(secret))).scalar_one_or_none()
    now = utcnow()
    if key is None or key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        raise refused
    owner = session.get(User, key.owner_id) if key.owner_id else None
    if key.owner_id and (owner is None or not owner.is_active or owner.erased_at is not None):
        raise refused
    key.last_used_at = now
    names, perms = list(key.roles or ()), roles.perms_for(session, key.roles or [])
    if owner is not None:
        held = Actor(user_id=owner.id, roles=tuple(owner.roles or ()), perms=roles.perms_for(session, owner.roles or []))
        perms = within(Actor(kind="api_key", perms=perms), held)
        # a role name the owner could no longer grant is dropped too (checks such as `is_admin` read names)
        names = [name for name in names if not roles.grant_within(roles.perms_for(session, [name]), held)]
    return key, Actor(user_id=key.owner_id or key.id, kind="api_key", email=owner.email if owner else None,
                      roles=tuple(names), team_id=owner.team_id if owner else None,
                      territory_ids=tuple(territories.territory_ids(session, owner)) if owner else (), perms=perms,
                      api_key_id=key.id)

