"""The local copy of identity's users: who is active, in which team and territories."""
from __future__ import annotations

from sqlalchemy import select

from crm_common.context import Actor
from crm_common.db import utcnow
from crm_sales.models import SalesUser, Territory


def upsert(session, data: dict) -> tuple[SalesUser, bool]:
    """Apply a user event's data; returns the user and whether it was active before."""
    user = session.get(SalesUser, data["id"])
    was_active = bool(user and user.is_active)
    if user is None:
        user = SalesUser(id=data["id"])
        session.add(user)
    for name in ("email", "full_name", "team_id"):
        if name in data:
            setattr(user, name, data[name])
    if "territory_ids" in data:
        user.territory_ids = list(data.get("territory_ids") or [])
    if "roles" in data:
        user.roles = list(data.get("roles") or [])
    if "is_active" in data:
        user.is_active = bool(data["is_active"])
    user.synced_at = utcnow()
    session.flush()
    return user, was_active


def team_of(session, user_id: str | None, actor: Actor | None = None) -> str | None:
    """The team a record owned by `user_id` belongs to (the owner's team at assignment)."""
    if not user_id:
        return None
    if actor is not None and actor.user_id == user_id and actor.team_id:
        return actor.team_id
    user = session.get(SalesUser, user_id)
    return user.team_id if user else None


def active_ids(session, ids) -> list[str]:
    ids = sorted(set(ids or ()))
    if not ids:
        return []
    return sorted(session.execute(select(SalesUser.id).where(SalesUser.id.in_(ids), SalesUser.is_active.is_(True)))
                  .scalars())


def team_members(session, team_id: str | None) -> list[str]:
    if not team_id:
        return []
    return sorted(session.execute(select(SalesUser.id).where(SalesUser.team_id == team_id,
                                                            SalesUser.is_active.is_(True))).scalars())


def territory_members(session, territory: Territory | None) -> list[str]:
    """Active members of a territory: those listed on it and users whose territory_ids name it."""
    if territory is None:
        return []
    ids = set(territory.member_ids or ())
    for user in session.execute(select(SalesUser).where(SalesUser.is_active.is_(True))).scalars():
        if territory.id in (user.territory_ids or ()):
            ids.add(user.id)
    return active_ids(session, ids)
