"""What a person does on their own account: read it (`/me`), change their name and password, and turn
their second factor on or off. Routes no role grant governs: the gateway lets any signed-in person through
(`/me` also an API key), and these functions decide, acting on the caller's own record only."""
from __future__ import annotations

from crm_common.context import Actor
from crm_common.db import utcnow
from crm_common.context import Context
from crm_common.errors import ServiceError, not_found, validation
from crm_identity.domain import mfa, passwords, tokens, users
from crm_identity.models import User

PEOPLE = ("user", "customer")  # callers who act on their own account (an API key does not)
OWN_ACCOUNT_ONLY = ("an API key may not act on its owner's account (MFA, password, sessions, logout, profile); "
                    "sign in as the user for that")


def signed_in(ctx: Context) -> Actor:
    actor = ctx.caller
    if actor is None or not actor.user_id:
        raise ServiceError("unauthenticated", "sign in first")
    return actor


def person(ctx: Context) -> Actor:
    """The caller, when a person acting on their own account (not an API key acting for its owner)."""
    actor = signed_in(ctx)
    if actor.kind not in PEOPLE:
        raise ServiceError("forbidden", OWN_ACCOUNT_ONLY)
    return actor


def me(ctx: Context) -> User:
    """The caller's own active user record."""
    user = ctx.session.get(User, person(ctx).user_id)
    if user is None or not user.is_active:
        raise not_found("user")
    return user


def get_me(ctx: Context) -> dict:
    """The caller (a person or an API key's owner), with roles, grants, team and territories as the gateway
    resolved them now: the record's and the sales rosters listing the user."""
    actor = signed_in(ctx)
    with ctx.read() as conn:
        record = users.active_record(conn, actor.user_id)
    if record is None:
        raise not_found("user")
    return {**record, "kind": actor.kind, "roles": list(actor.roles), "perms": actor.perms,
            "territory_ids": list(actor.territory_ids)}


def update_me(ctx: Context, changes: dict) -> dict:
    """What anyone may change about themself (their name); everything else goes through an admin."""
    user = me(ctx)
    refused = [f for f in changes if f != "full_name"]
    if refused:
        raise validation({f: ["only an administrator may set this field"] for f in refused})
    changed = []
    if "full_name" in changes and changes["full_name"].strip() != user.full_name:
        user.full_name = changes["full_name"].strip()
        changed.append("full_name")
    ctx.session.flush()
    if changed:
        users.emit_updated(ctx, user, changed)
    return users.to_dict(user)


def change_password(ctx: Context, data: dict) -> None:
    """A new password after the current one; every session of the caller ends."""
    actor = person(ctx)
    user = ctx.session.get(User, actor.user_id)
    if user is None or not user.is_active:
        raise ServiceError("forbidden", "only a signed-in user changes their password")
    if not passwords.verify(user.password_hash, data["current_password"]):
        raise validation({"current_password": ["is not your current password"]})
    new = data["new_password"]
    policy = passwords.policy_errors(new, user.email)
    if passwords.verify(user.password_hash, new):
        policy.append("must differ from the current password")
    if policy:
        raise validation({"new_password": policy})
    user.password_hash = passwords.hash_password(new)
    user.password_changed_at = utcnow()
    tokens.revoke_user(ctx.session, user.id)
    ctx.session.flush()
    users.emit_updated(ctx, user, ["password"])


def mfa_enroll(ctx: Context) -> dict:
    return mfa.enroll(me(ctx))


def mfa_verify(ctx: Context, data: dict) -> dict:
    user = me(ctx)
    mfa.verify_enrollment(user, data["otp"])
    ctx.session.flush()
    users.emit_updated(ctx, user, ["mfa_enabled"])
    return {"mfa_enabled": True}


def mfa_disable(ctx: Context, data: dict) -> dict:
    user = me(ctx)
    mfa.disable(user, data["password"], data["otp"])
    ctx.session.flush()
    users.emit_updated(ctx, user, ["mfa_enabled"])
    return {"mfa_enabled": False}
