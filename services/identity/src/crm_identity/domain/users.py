"""Users: staff and portal customers. Record scope: "own" is the user themself, "team" the caller's team."""
from __future__ import annotations

from sqlalchemy import String, bindparam, cast, func, or_, select
from sqlalchemy.orm import Session

import crm_identity_contracts as c
from crm_common import scope
from crm_common.context import Actor
from crm_common.db import utcnow
from crm_common.context import Context
from crm_common.errors import ServiceError, validation
from crm_common.paging import paginate
from crm_common.versioning import check_version
from crm_identity.domain import admins, mfa, passwords, roles, tokens
from crm_identity.models import ApiKey, Team, User

# fields only a caller with user.admin may set (on others and on themself)
PRIVILEGED = ("email", "password", "roles", "is_active", "team_id", "territory_ids", "account_id", "contact_id",
              "partner_id")
EVENT_FIELDS = ("id", "email", "full_name", "team_id", "territory_ids", "roles", "is_active")
SORTABLE = ("created_at", "email", "full_name")


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


# a user's record as the API shows it (never the hashes or MFA secrets)
RECORD_FIELDS = ("id", "email", "full_name", "roles", "team_id", "territory_ids", "is_active", "mfa_enabled",
                 "account_id", "contact_id", "partner_id", "created_at", "updated_at", "version")
_ACTIVE_BY_ID = select(*(User.__table__.c[name] for name in RECORD_FIELDS)).where(
    User.__table__.c.id == bindparam("user_id"), User.__table__.c.is_active.is_(True))


def active_record(conn, user_id: str) -> dict | None:
    """An active user's record read with Core (no ORM object), for the hot read of `/me`."""
    row = conn.execute(_ACTIVE_BY_ID, {"user_id": user_id}).first()
    return to_dict(row) if row is not None else None


def to_dict(user) -> dict:
    """The record of a User or of a row with RECORD_FIELDS."""
    data = {name: getattr(user, name) for name in RECORD_FIELDS}
    data["roles"], data["territory_ids"] = list(user.roles or []), list(user.territory_ids or [])
    return data


def event_data(user: User, changed_fields: list[str] | None = None) -> dict:
    data = {k: v for k, v in to_dict(user).items() if k in EVENT_FIELDS}
    if changed_fields is not None:
        data["changed_fields"] = list(changed_fields)
    return data


def emit_updated(ctx: Context, user: User, changed_fields: list[str]) -> None:
    """`identity.user_updated.v1` for a change to `user` (written with the change, in its transaction)."""
    ctx.emit(c.USER_UPDATED, event_data(user, changed_fields))


def by_email(session: Session, email: str) -> User | None:
    return session.execute(select(User).where(User.email == normalize_email(email))).scalar_one_or_none()


def visible_query(actor: Actor, action: str = "read"):
    return scope.visible(select(User), actor, "user", action, User)


def load(session: Session, actor: Actor, user_id: str, action: str = "read") -> User:
    """The user if the caller may `action` it: 404 when not visible, 403 when visible but not allowed."""
    return scope.require(actor, "user", action, session.get(User, user_id), "user")


def list_users(ctx: Context, args: dict) -> dict:
    session = ctx.session
    query = visible_query(ctx.caller)
    if args.get("email"):
        query = query.where(User.email == normalize_email(args["email"]))
    if "team_id" in args:
        query = query.where(User.team_id == args["team_id"])
    if "is_active" in args:
        query = query.where(User.is_active.is_(args["is_active"]))
    if args.get("role"):
        query = query.where(cast(User.roles, String).like(f'%"{args["role"]}"%'))
    if args.get("q"):
        needle = f"%{args['q'].lower()}%"
        query = query.where(or_(User.email.like(needle), func.lower(User.full_name).like(needle)))
    rows, cursor = paginate(session, query, User, args.get("sort") or "-created_at", args["limit"],
                            args.get("cursor"), SORTABLE)
    return {"items": [to_dict(u) for u in rows], "next_cursor": cursor}


def _check_roles(session: Session, actor: Actor, names: list[str], errors: dict, check_grant: bool = True) -> None:
    unknown = roles.unknown_roles(session, names)
    if unknown:
        errors.setdefault("roles", []).append(f"unknown role(s): {', '.join(unknown)}")
        return
    if "customer" in names and len(set(names)) > 1:
        errors.setdefault("roles", []).append("a portal customer has the customer role only")
    wider = roles.grant_within(roles.perms_for(session, names), actor) if check_grant else []
    if wider:
        errors.setdefault("roles", []).append("these roles grant more than your own: " + ", ".join(sorted(wider)[:10]))


def _check_team(session: Session, team_id, errors: dict) -> None:
    if team_id is not None and session.get(Team, team_id) is None:
        errors.setdefault("team_id", []).append("no such team")


def _check_customer_links(names: list[str], account_id, contact_id, errors: dict) -> None:
    if "customer" in names:
        if not contact_id:
            errors.setdefault("contact_id", []).append("a portal customer needs the contact it acts as")
    else:
        for field, value in (("account_id", account_id), ("contact_id", contact_id)):
            if value:
                errors.setdefault(field, []).append("only portal customers (role customer) have this")


def _check_partner_link(names: list[str], partner_id, errors: dict) -> None:
    if partner_id and "partner" not in names:
        errors.setdefault("partner_id", []).append("only partner users (role partner) have this")
    if "partner_manager" in names and not ("partner" in names and partner_id):
        errors.setdefault("roles", []).append("a partner_manager is a partner user (role partner, with partner_id)")


def _unique_email(session: Session, email: str, except_id: str | None = None) -> None:
    existing = by_email(session, email)
    if existing is not None and existing.id != except_id:
        raise ServiceError("conflict", "a user with this email exists", errors={"email": ["already in use"]})


def get(ctx: Context, user_id: str) -> dict:
    return to_dict(load(ctx.session, ctx.caller, user_id))


def create(ctx: Context, data: dict) -> dict:
    if not ctx.caller.can("user", "create"):
        raise ServiceError("forbidden", "your role may not create users")
    return _create(ctx, data)


def create_customer(ctx: Context, data: dict) -> dict:
    """A portal customer (role customer, acting as a contact): administrators (user.create) and support
    managers (ticket.admin on every record) create these."""
    caller = ctx.caller
    if not (caller.can("user", "create") or caller.scope("ticket", "admin") == "all"):
        raise ServiceError("forbidden", "portal customers are created by administrators and support managers")
    return _create(ctx, {**data, "roles": ["customer"]}, check_grant=False)


def create_partner_user(ctx: Context, data: dict) -> dict:
    """A partner user (role partner; with `manager`, partner_manager too): a caller with partner_user.create on
    every partner (channel managers, administrators) names the partner; a partner's manager (scope "own": of their
    partner) creates users of their own partner only (403 for another)."""
    caller = ctx.caller
    wide = caller.scope("partner_user", "create") == "all"
    partner_id = data.get("partner_id")
    if not wide:
        if caller.scope("partner_user", "create") == "none" or not caller.partner_id:
            raise ServiceError("forbidden", "partner users are created by their partner's managers, channel "
                                            "managers and administrators")
        if partner_id and partner_id != caller.partner_id:
            raise ServiceError("forbidden", "you create users of your own partner only")
        partner_id = caller.partner_id
    if not partner_id:
        raise validation({"partner_id": ["the partner the user belongs to"]})
    names = ["partner", "partner_manager"] if data.get("manager") else ["partner"]
    fields = {k: data[k] for k in ("email", "full_name", "password")}
    return _create(ctx, {**fields, "roles": names, "partner_id": partner_id}, check_grant=False)


def _create(ctx: Context, data: dict, check_grant: bool = True) -> dict:
    session, actor = ctx.session, ctx.caller
    email = normalize_email(data["email"])
    names = sorted(set(data.get("roles") or []))
    errors: dict = {}
    policy = passwords.policy_errors(data["password"], email)
    if policy:
        errors["password"] = policy
    _check_roles(session, actor, names, errors, check_grant)
    _check_team(session, data.get("team_id"), errors)
    _check_customer_links(names, data.get("account_id"), data.get("contact_id"), errors)
    _check_partner_link(names, data.get("partner_id"), errors)
    if errors:
        raise validation(errors)
    _unique_email(session, email)
    user = User(email=email, full_name=data["full_name"].strip(), password_hash=passwords.hash_password(data["password"]),
                is_active=data.get("is_active", True), team_id=data.get("team_id"),
                territory_ids=list(dict.fromkeys(data.get("territory_ids") or [])), roles=names,
                account_id=data.get("account_id"), contact_id=data.get("contact_id"), password_changed_at=utcnow(),
                partner_id=data.get("partner_id"))
    session.add(user)
    session.flush()
    ctx.emit(c.USER_CREATED, event_data(user))
    return to_dict(user)


def update(ctx: Context, user_id: str, changes: dict, expected_version: int | None = None) -> dict:
    """Apply a PATCH. Privileged fields need user.admin; an account whose grants exceed the caller's is not
    changed at all (403); the last administrator stays one (409). Emits user_updated (and user_deactivated
    when it turns the account off)."""
    session, actor = ctx.session, ctx.caller
    user = load(session, actor, user_id, "update")
    admins.require_within(session, actor, user)
    refused = [f for f in PRIVILEGED if f in changes and not actor.can("user", "admin")]
    if refused:
        raise validation({f: ["only an administrator may set this field"] for f in refused})
    names = sorted(set(changes["roles"])) if "roles" in changes else list(user.roles or [])
    if user.id == actor.user_id:
        _refuse_self_lockout(session, user, changes, names)
    if "roles" in changes or changes.get("is_active") is False:
        admins.keep_an_admin(session, user, names, changes.get("is_active"))
    check_version(user, expected_version)
    errors: dict = {}
    if "roles" in changes:
        _check_roles(session, actor, names, errors)
    if "team_id" in changes:
        _check_team(session, changes["team_id"], errors)
    if "password" in changes:
        policy = passwords.policy_errors(changes["password"], changes.get("email") or user.email)
        if policy:
            errors["password"] = policy
    _check_customer_links(names, changes.get("account_id", user.account_id), changes.get("contact_id", user.contact_id),
                          errors)
    _check_partner_link(names, changes.get("partner_id", user.partner_id), errors)
    if errors:
        raise validation(errors)
    changed = []
    for field in ("email", "full_name", "team_id", "territory_ids", "is_active", "account_id", "contact_id",
                  "partner_id"):
        if field not in changes:
            continue
        value = changes[field]
        if field == "email":
            value = normalize_email(value)
            _unique_email(session, value, user.id)
        elif field == "full_name":
            value = value.strip()
        elif field == "territory_ids":
            value = list(dict.fromkeys(value))
        if getattr(user, field) != value:
            setattr(user, field, value)
            changed.append(field)
    if "roles" in changes and names != list(user.roles or []):
        user.roles = names
        changed.append("roles")
    if "password" in changes:
        user.password_hash = passwords.hash_password(changes["password"])
        user.password_changed_at = utcnow()
        changed.append("password")
    if "is_active" in changed:
        user.deactivated_at = None if user.is_active else utcnow()
    if {"roles", "password", "is_active", "email"} & set(changed):
        tokens.revoke_user(session, user.id)
    session.flush()
    if changed:
        emit_updated(ctx, user, changed)
        if "is_active" in changed and not user.is_active:
            ctx.emit(c.USER_DEACTIVATED, event_data(user))
    return to_dict(user)


def _refuse_self_lockout(session: Session, user: User, changes: dict, names: list[str]) -> None:
    errors: dict = {}
    if changes.get("is_active") is False:
        errors["is_active"] = ["you cannot deactivate yourself"]
    if "roles" in changes:
        lost = admins.lost_grants(session, list(user.roles or []), names)
        if lost:
            errors["roles"] = ["you cannot narrow your own grants (you would lose " + ", ".join(sorted(lost)[:10])
                               + "); another administrator can"]
    if errors:
        raise validation(errors)


def deactivate(ctx: Context, user_id: str, expected_version: int | None = None) -> None:
    """Deactivate (the DELETE of users; nothing when it already was). Revokes its sessions."""
    session, actor = ctx.session, ctx.caller
    user = load(session, actor, user_id, "delete")
    admins.require_within(session, actor, user)
    admins.not_self(actor, user, "deactivate")
    admins.keep_an_admin(session, user, active_after=False)
    check_version(user, expected_version)
    if not user.is_active:
        return
    user.is_active = False
    user.deactivated_at = utcnow()
    tokens.revoke_user(session, user.id)
    session.flush()
    ctx.emit(c.USER_DEACTIVATED, event_data(user))


def reset_mfa(ctx: Context, user_id: str, expected_version: int | None = None) -> None:
    """An administrator turns a user's second factor off (a lost device) and signs them out everywhere:
    whoever holds the device holds no session. Nothing changes (and nothing is emitted) when there was
    nothing to reset."""
    session, actor = ctx.session, ctx.caller
    user = load(session, actor, user_id, "admin")
    admins.require_within(session, actor, user)
    admins.not_self(actor, user, "reset the second factor of",
                    "turn your own off with POST /api/v1/auth/mfa/disable (password and code)")
    check_version(user, expected_version)
    if not mfa.clear(user):
        return
    tokens.revoke_user(session, user.id)
    session.flush()
    emit_updated(ctx, user, ["mfa_enabled"])


def revoke_keys_of(session: Session, user_id: str) -> int:
    now = utcnow()
    keys = session.execute(select(ApiKey).where(ApiKey.owner_id == user_id, ApiKey.revoked_at.is_(None))).scalars().all()
    for key in keys:
        key.revoked_at = now
    return len(keys)
