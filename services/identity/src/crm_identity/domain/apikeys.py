"""API keys for integrations: a 256-bit secret shown once, stored as its SHA-256, scoped by roles.

A key acts for its owner with its roles' grants, but never with more than the owner holds now: demote
the owner and the key loses what the owner lost (at its next authentication)."""
from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_common import scope
from crm_common.context import SCOPES, Actor
from crm_common.db import utcnow
from crm_common.errors import ServiceError, not_found, validation
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
            "last_used_at": key.last_used_at, "revoked_at": key.revoked_at}


def event_data(key: ApiKey) -> dict:
    return {"id": key.id, "name": key.name, "owner_id": key.owner_id, "roles": list(key.roles or [])}


def create(session: Session, actor: Actor, data: dict) -> tuple[ApiKey, str]:
    """(the key record, the secret to show once)."""
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
                 expires_at=data.get("expires_at"), created_at=utcnow())
    session.add(key)
    session.flush()
    return key, secret


def list_keys(session: Session, actor: Actor, args: dict) -> dict:
    query = scope.visible(select(ApiKey), actor, "api_key", "read", ApiKey)
    if not args.get("include_revoked"):
        query = query.where(ApiKey.revoked_at.is_(None))
    if args.get("q"):
        query = query.where(ApiKey.name.like(f"%{args['q']}%"))
    rows, cursor = paginate(session, query, ApiKey, args.get("sort") or "-created_at", args["limit"],
                            args.get("cursor"), SORTABLE)
    return {"items": [to_dict(k) for k in rows], "next_cursor": cursor}


def revoke(session: Session, actor: Actor, key_id: str) -> ApiKey | None:
    """Revoke a key (None when it already was)."""
    key = scope.require(actor, "api_key", "delete", session.get(ApiKey, key_id), "API key")
    if key.revoked_at is not None:
        return None
    key.revoked_at = utcnow()
    session.flush()
    return key


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
                      territory_ids=tuple(territories.territory_ids(session, owner)) if owner else (), perms=perms)


def get(session: Session, actor: Actor, key_id: str) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise not_found("API key")
    return scope.require(actor, "api_key", "read", key, "API key")
