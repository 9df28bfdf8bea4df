"""Who may change an account, and the administrators the suite must keep.

- An actor changes no account whose grants exceed the actor's own (403), so a delegated user
  administrator stays in their lane: update, password, roles, deactivation, MFA reset, offboarding,
  team moves.
- The last active administrator (an active, not erased user holding the built-in `admin` role) is
  never deactivated, demoted, offboarded or erased (409). The check counts the administrators under a
  row lock (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite writes one transaction at a time), so two
  administrators demoting each other at the same moment cannot both succeed.
- A caller does not lock themself out: no deactivating or offboarding themself, no reset of their own
  MFA through the administrators' route, no narrowing of their own grants (409, or 422 on a PATCH).
"""
from __future__ import annotations

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from crm_common.context import Actor
from crm_common.errors import ServiceError
from crm_identity.domain import roles
from crm_identity.models import User

ADMIN_ROLE = "admin"


def lock_admins(session: Session) -> list[User]:
    """The active administrators, their rows locked until the transaction ends (read afresh: a
    concurrent demotion committed while waiting for the lock is seen)."""
    query = (select(User).where(User.is_active.is_(True), User.erased_at.is_(None),
                                cast(User.roles, String).like(f'%"{ADMIN_ROLE}"%'))
             .order_by(User.id).with_for_update().execution_options(populate_existing=True))
    return [u for u in session.execute(query).scalars().all() if ADMIN_ROLE in (u.roles or [])]


def keep_an_admin(session: Session, user: User, roles_after: list[str] | None = None,
                  active_after: bool | None = None) -> None:
    """Refuse (409) when `user` is an active administrator, would stop being one (roles or active
    state after the change) and no other is left. Call before changing `user`: it reloads the rows."""
    admins = lock_admins(session)
    if user not in admins:
        return
    roles_after = list(user.roles or []) if roles_after is None else roles_after
    active_after = user.is_active if active_after is None else active_after
    if active_after and ADMIN_ROLE in roles_after:
        return
    if len(admins) == 1:
        raise ServiceError("conflict", f"{user.email} is the last active administrator; make another user an "
                                       "administrator first", extra={"user_id": user.id})


def exceeding(session: Session, actor: Actor, user: User) -> list[str]:
    """The grants of `user` wider than the actor's own ([] when the actor holds at least as much)."""
    return roles.grant_within(roles.perms_for(session, user.roles or []), actor)


def require_within(session: Session, actor: Actor, user: User) -> None:
    """403 when `user` holds grants beyond the actor's: nobody changes a stronger account."""
    wider = exceeding(session, actor, user)
    if wider:
        raise ServiceError("forbidden", "this account holds grants beyond your own ("
                           + ", ".join(sorted(wider)[:10]) + "); an administrator with them may change it")


def lost_grants(session: Session, before: list[str], after: list[str]) -> list[str]:
    """Entries of the grant of roles `before` that roles `after` no longer give."""
    return roles.grant_within(roles.perms_for(session, before), Actor(perms=roles.perms_for(session, after)))


def not_self(actor: Actor, user: User, what: str, hint: str = "") -> None:
    if actor.user_id and user.id == actor.user_id:
        raise ServiceError("conflict", f"you cannot {what} yourself" + (f"; {hint}" if hint else ""))
