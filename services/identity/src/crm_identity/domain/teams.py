"""Teams: a name, a manager and members (a user belongs to at most one team: users.team_id)."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crm_identity_contracts as c
from crm_common import scope
from crm_common.context import Actor
from crm_common.context import Context
from crm_common.errors import ServiceError, validation
from crm_common.paging import paginate
from crm_common.versioning import check_version
from crm_identity.domain import admins, users
from crm_identity.models import Team, User

SORTABLE = ("created_at", "name")


def member_ids(session: Session, team_id: str) -> list[str]:
    return sorted(session.execute(select(User.id).where(User.team_id == team_id)).scalars())


def to_dict(session: Session, team: Team) -> dict:
    return {"id": team.id, "name": team.name, "manager_id": team.manager_id, "member_ids": member_ids(session, team.id),
            "created_at": team.created_at, "updated_at": team.updated_at, "version": team.version}


def event_data(session: Session, team: Team, changed_fields: list[str] | None = None) -> dict:
    data = {"id": team.id, "name": team.name, "manager_id": team.manager_id, "member_ids": member_ids(session, team.id)}
    if changed_fields is not None:
        data["changed_fields"] = changed_fields
    return data


def load(session: Session, actor: Actor, team_id: str, action: str = "read") -> Team:
    return scope.require(actor, "team", action, session.get(Team, team_id), "team")


def get(ctx: Context, team_id: str) -> dict:
    return to_dict(ctx.session, load(ctx.session, ctx.caller, team_id))


def list_teams(ctx: Context, args: dict) -> dict:
    session = ctx.session
    query = scope.visible(select(Team), ctx.caller, "team", "read", Team)
    if args.get("q"):
        query = query.where(func.lower(Team.name).like(f"%{args['q'].lower()}%"))
    rows, cursor = paginate(session, query, Team, args.get("sort") or "-created_at", args["limit"],
                            args.get("cursor"), SORTABLE)
    return {"items": [to_dict(session, t) for t in rows], "next_cursor": cursor}


def _check(session: Session, data: dict, errors: dict, team_id: str | None = None) -> list[User]:
    if data.get("name") is not None:
        clash = session.execute(select(Team.id).where(func.lower(Team.name) == data["name"].strip().lower())).scalar()
        if clash and clash != team_id:
            raise ServiceError("conflict", "a team with this name exists", errors={"name": ["already in use"]})
    manager_id = data.get("manager_id")
    if manager_id is not None:
        manager = session.get(User, manager_id)
        if manager is None or not manager.is_active or manager.kind == "customer":
            errors.setdefault("manager_id", []).append("no such active staff user")
    members: list[User] = []
    if data.get("member_ids") is not None:
        wanted = list(dict.fromkeys(data["member_ids"]))
        members = session.execute(select(User).where(User.id.in_(wanted))).scalars().all() if wanted else []
        found = {u.id for u in members}
        missing = [m for m in wanted if m not in found]
        if missing:
            errors.setdefault("member_ids", []).append(f"no such user(s): {', '.join(missing[:10])}")
        if any(u.kind == "customer" for u in members):
            errors.setdefault("member_ids", []).append("portal customers are not team members")
    return members


def _check_moves(session: Session, actor: Actor, team_id: str | None, members: list[User]) -> None:
    """Every user whose team would change is one the caller may update and no stronger than the caller
    (403); the caller does not move themself out of their own team (409)."""
    wanted = {u.id for u in members}
    leaving = session.execute(select(User).where(User.team_id == team_id)).scalars().all() if team_id else []
    moved = [u for u in leaving if u.id not in wanted] + [u for u in members if u.team_id != team_id]
    for user in moved:
        if user.id == actor.user_id and user.team_id is not None:
            raise ServiceError("conflict", "you cannot move yourself out of your team; another administrator can")
        if not scope.allows(actor, "user", "update", user):
            raise ServiceError("forbidden", f"you may not move user {user.id}: not a user you may change")
        admins.require_within(session, actor, user)


def _set_members(session: Session, team: Team, members: list[User]) -> list[User]:
    """Make `members` the team's members; returns every user whose team changed."""
    moved = []
    wanted = {u.id for u in members}
    for user in session.execute(select(User).where(User.team_id == team.id)).scalars().all():
        if user.id not in wanted:
            user.team_id = None
            moved.append(user)
    for user in members:
        if user.team_id != team.id:
            user.team_id = team.id
            moved.append(user)
    return moved


def _emit_moved(ctx: Context, moved: list[User]) -> None:
    for user in moved:
        users.emit_updated(ctx, user, ["team_id"])


def create(ctx: Context, data: dict) -> dict:
    """A team; its members move into it (each gets user_updated)."""
    session, actor = ctx.session, ctx.caller
    if not actor.can("team", "create"):
        raise ServiceError("forbidden", "your role may not create teams")
    errors: dict = {}
    members = _check(session, data, errors)
    if errors:
        raise validation(errors)
    _check_moves(session, actor, None, members)
    team = Team(name=data["name"].strip(), manager_id=data.get("manager_id"))
    session.add(team)
    session.flush()
    moved = _set_members(session, team, members)
    session.flush()
    ctx.emit(c.TEAM_CREATED, event_data(session, team))
    _emit_moved(ctx, moved)
    return to_dict(session, team)


def update(ctx: Context, team_id: str, changes: dict, expected_version: int | None = None) -> dict:
    """Apply a PATCH; users whose team changed get user_updated."""
    session, actor = ctx.session, ctx.caller
    team = load(session, actor, team_id, "update")
    check_version(team, expected_version)
    errors: dict = {}
    members = _check(session, changes, errors, team.id)
    if errors:
        raise validation(errors)
    changed = []
    if "name" in changes and changes["name"].strip() != team.name:
        team.name = changes["name"].strip()
        changed.append("name")
    if "manager_id" in changes and changes["manager_id"] != team.manager_id:
        team.manager_id = changes["manager_id"]
        changed.append("manager_id")
    moved = []
    if "member_ids" in changes:
        _check_moves(session, actor, team.id, members)
        moved = _set_members(session, team, members)
        if moved:
            changed.append("member_ids")
    session.flush()
    if changed:
        ctx.emit(c.TEAM_UPDATED, event_data(session, team, changed))
    _emit_moved(ctx, moved)
    return to_dict(session, team)


def delete(ctx: Context, team_id: str, expected_version: int | None = None) -> None:
    """Delete a team without members (its members' records are scoped by it: move them first)."""
    session = ctx.session
    team = load(session, ctx.caller, team_id, "delete")
    check_version(team, expected_version)
    members = member_ids(session, team.id)
    if members:
        raise ServiceError("conflict", "the team still has members; move them to another team first",
                           extra={"member_ids": members[:100]})
    data = event_data(session, team)
    session.delete(team)
    session.flush()
    ctx.emit(c.TEAM_DELETED, data)
