"""Roles: the built-in ones (read-only) and custom roles an administrator defines; merged grants."""
from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

import crm_identity_contracts as c
from crm_common.context import SCOPES, Actor
from crm_common.context import Context
from crm_common.errors import ServiceError, not_found, validation
from crm_common.paging import paginate
from crm_common.permissions import BUILTIN_ROLES, merge_roles, validate_grant
from crm_common.versioning import check_version
from crm_identity.domain import tokens
from crm_identity.models import Role, User

_NAMESPACE = uuid.UUID("6f1c7a52-3d1e-4a8e-9a57-0c1d6f3e2b10")


def builtin_id(name: str) -> str:
    """Built-in roles have stable ids (uuid5 of their name)."""
    return str(uuid.uuid5(_NAMESPACE, name))


BUILTIN_BY_ID = {builtin_id(name): name for name in BUILTIN_ROLES}


def builtin_dict(name: str) -> dict:
    return {"id": builtin_id(name), "name": name, "description": f"built-in role {name}", "builtin": True,
            "permissions": BUILTIN_ROLES[name], "created_at": None, "version": None}


def to_dict(role: Role) -> dict:
    return {"id": role.id, "name": role.name, "description": role.description, "builtin": False,
            "permissions": role.permissions or {}, "created_at": role.created_at, "version": role.version}


def custom_grants(session: Session, names) -> dict[str, dict]:
    wanted = [n for n in names if n not in BUILTIN_ROLES]
    if not wanted:
        return {}
    rows = session.execute(select(Role.name, Role.permissions).where(Role.name.in_(wanted))).all()
    return {name: perms or {} for name, perms in rows}


def perms_for(session: Session, names) -> dict:
    """The merged grant of these roles (unknown names grant nothing)."""
    names = list(names or [])
    custom = custom_grants(session, names)
    grants = [BUILTIN_ROLES[n] if n in BUILTIN_ROLES else custom.get(n, {}) for n in names]
    return merge_roles(grants)


def unknown_roles(session: Session, names) -> list[str]:
    custom = custom_grants(session, names)
    return [n for n in names if n not in BUILTIN_ROLES and n not in custom]


def grant_within(grant: dict, actor: Actor) -> list[str]:
    """Entries of `grant` wider than what `actor` holds ([] when the grant does not exceed the actor's)."""
    if actor.kind == "system":
        return []
    wider = []
    for resource, actions in grant.items():
        for action, wanted in (actions or {}).items():
            if SCOPES.index(wanted) > SCOPES.index(actor.scope(resource, action)):
                wider.append(f"{resource}.{action}")
    return wider


def _check_grant(grant) -> dict:
    errors = validate_grant(grant)
    if errors:
        raise validation(errors)
    return grant


def _load(session: Session, role_id: str, actor: Actor, action: str) -> Role:
    record = session.get(Role, role_id)
    if record is None or not actor.can("role", "read"):
        raise not_found("role")
    if action != "read" and not actor.can("role", action):
        raise ServiceError("forbidden", f"your role may not {action} roles")
    return record


def event_data(role: Role, changed_fields: list[str] | None = None) -> dict:
    return {"id": role.id, "name": role.name, "changed_fields": list(changed_fields or [])}


def get(ctx: Context, role_id: str) -> dict:
    session, actor = ctx.session, ctx.caller
    if role_id in BUILTIN_BY_ID and actor.can("role", "read"):
        return builtin_dict(BUILTIN_BY_ID[role_id])
    return to_dict(_load(session, role_id, actor, "read"))


def list_roles(ctx: Context, args: dict) -> dict:
    """Built-in roles first (when not filtered out), then a page of custom roles."""
    session, actor = ctx.session, ctx.caller
    if not actor.can("role", "read"):
        return {"items": [], "next_cursor": None}
    q = (args.get("q") or "").lower()
    items = []
    if args.get("builtin") in (None, True) and not args.get("cursor"):
        items = [builtin_dict(n) for n in sorted(BUILTIN_ROLES) if q in n]
    if args.get("builtin") is True:
        return {"items": items, "next_cursor": None}
    query = select(Role)
    if q:
        query = query.where(Role.name.contains(q))
    rows, cursor = paginate(session, query, Role, args.get("sort") or "name", args["limit"], args.get("cursor"),
                            ("created_at", "name"))
    return {"items": items + [to_dict(r) for r in rows], "next_cursor": cursor}


def create(ctx: Context, data: dict) -> dict:
    session, actor = ctx.session, ctx.caller
    name = data["name"]
    if name in BUILTIN_ROLES:
        raise validation({"name": ["a built-in role has this name"]})
    if session.execute(select(Role.id).where(Role.name == name)).first():
        raise ServiceError("conflict", f"a role named {name} exists")
    grant = _check_grant(data["permissions"])
    wider = grant_within(grant, actor)
    if wider:
        raise validation({"permissions": [f"wider than your own grant: {', '.join(sorted(wider))}"]})
    role = Role(name=name, description=data.get("description"), permissions=grant, created_by=actor.user_id)
    session.add(role)
    session.flush()
    ctx.emit(c.ROLE_CREATED, event_data(role))
    return to_dict(role)


def update(ctx: Context, role_id: str, changes: dict, expected_version: int | None = None) -> dict:
    """Apply a PATCH; a change of its grant ends its holders' sessions (they sign in again)."""
    session, actor = ctx.session, ctx.caller
    if role_id in BUILTIN_BY_ID:
        raise ServiceError("forbidden", "built-in roles are read-only")
    role = _load(session, role_id, actor, "update")
    check_version(role, expected_version)
    changed = []
    if "permissions" in changes:
        grant = _check_grant(changes["permissions"])
        wider = grant_within(grant, actor)
        if wider:
            raise validation({"permissions": [f"wider than your own grant: {', '.join(sorted(wider))}"]})
        if grant != role.permissions:
            _check_holders(session, actor, role, grant)
            role.permissions = grant
            changed.append("permissions")
    if "description" in changes and changes["description"] != role.description:
        role.description = changes["description"]
        changed.append("description")
    session.flush()
    if "permissions" in changed:
        for holder in users_with(session, role.name):
            tokens.revoke_user(session, holder.id)
    if changed:
        ctx.emit(c.ROLE_UPDATED, event_data(role, changed))
    return to_dict(role)


def _check_holders(session: Session, actor: Actor, role: Role, grant: dict) -> None:
    """A role's grant changes only when no holder is stronger than the caller (403) and the caller does not
    narrow their own grants with it (409)."""
    for holder in users_with(session, role.name):
        if grant_within(perms_for(session, holder.roles), actor):
            raise ServiceError("forbidden", "a holder of this role has grants beyond your own; an administrator "
                                            "with them may change it", extra={"user_ids": [holder.id]})
        if holder.id == actor.user_id:
            after = merge_roles([perms_for(session, [n for n in holder.roles if n != role.name]), grant])
            lost = grant_within(perms_for(session, holder.roles), Actor(perms=after))
            if lost:
                raise ServiceError("conflict", "you hold this role: the change would narrow your own grants ("
                                   + ", ".join(sorted(lost)[:10]) + "); another administrator can")


def delete(ctx: Context, role_id: str, expected_version: int | None = None) -> None:
    session, actor = ctx.session, ctx.caller
    if role_id in BUILTIN_BY_ID:
        raise ServiceError("forbidden", "built-in roles are read-only")
    role = _load(session, role_id, actor, "delete")
    check_version(role, expected_version)
    holders = users_with(session, role.name)
    if holders:
        raise ServiceError("conflict", f"{len(holders)} user(s) hold this role; take it from them first",
                           extra={"user_ids": [u.id for u in holders[:50]]})
    session.delete(role)
    ctx.emit(c.ROLE_DELETED, event_data(role))


def users_with(session: Session, name: str) -> list[User]:
    return [u for u in session.execute(select(User)).scalars() if name in (u.roles or [])]

