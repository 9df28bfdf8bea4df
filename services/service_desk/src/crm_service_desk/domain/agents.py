"""Agents: the local copy of identity's users, their availability, and re-routing the open tickets of
an agent who was deactivated."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_common.errors import ServiceError, not_found
import crm_service_desk_contracts as c
from crm_service_desk.domain import routing
from crm_service_desk.domain.records import now
from crm_service_desk.domain.tickets import event_data
from crm_service_desk.models import OPEN_STATUSES, AgentCopy, GroupMember, Ticket

if TYPE_CHECKING:
    from crm_common.context import Context


def upsert(ctx: Context, data: dict) -> AgentCopy:
    """Apply a user event's data (the fields it names); a user who became inactive hands back their open
    tickets."""
    session = ctx.session
    agent = session.get(AgentCopy, data["id"])
    if agent is None:
        agent = AgentCopy(id=data["id"], is_active=True, available=True)
        session.add(agent)
    was_active = agent.is_active
    for name in ("email", "full_name", "team_id"):
        if name in data:
            setattr(agent, name, data[name].lower() if name == "email" and data[name] else data[name])
    if "roles" in data:
        agent.roles = list(data["roles"] or [])
    if "is_active" in data and data["is_active"] is not None:
        agent.is_active = bool(data["is_active"])
    session.flush()
    if was_active and not agent.is_active:
        reroute_open_tickets(ctx, agent.id)
    return agent


def deactivate(ctx: Context, data: dict) -> AgentCopy:
    return upsert(ctx, {**data, "is_active": False})


def reroute_open_tickets(ctx: Context, user_id: str) -> int:
    """Give each open ticket of the agent to another available agent of its group (or to nobody)."""
    session = ctx.session
    rows = session.execute(select(Ticket).where(Ticket.assignee_id == user_id, Ticket.status.in_(OPEN_STATUSES),
                                                Ticket.deleted_at.is_(None)).order_by(Ticket.created_at)).scalars().all()
    for ticket in rows:
        group = routing.locked_group(session, ticket.group_id) if ticket.group_id else None
        ticket.assignee_id = routing.pick_agent(session, group, exclude=user_id) if group else None
        ticket.updated_at = now()
        session.flush()
        ctx.emit(c.TICKET_ASSIGNED, event_data(ticket, changed_fields=["assignee_id"]))
    return len(rows)


def set_available(ctx: Context, user_id: str, data: dict) -> dict:
    """An agent's availability: their own, or another's with group.update (agents carry no version)."""
    session, actor, available = ctx.session, ctx.caller, data["available"]
    if actor.user_id != user_id and actor.scope("group", "update") == "none":
        raise ServiceError("forbidden", "only a support manager changes another agent's availability")
    agent = session.get(AgentCopy, user_id)
    if agent is None:
        if actor.user_id != user_id:
            raise not_found("agent")
        agent = AgentCopy(id=user_id, email=actor.email, is_active=True, available=available)
        session.add(agent)
    agent.available = available
    session.flush()
    return describe(session, [agent])[0]


def describe(session: Session, agents: list[AgentCopy]) -> list[dict]:
    ids = [a.id for a in agents]
    load = routing.open_load(session, ids)
    groups: dict[str, list[str]] = {}
    for group_id, user_id in session.execute(select(GroupMember.group_id, GroupMember.user_id)
                                             .where(GroupMember.user_id.in_(ids))).all():
        groups.setdefault(user_id, []).append(group_id)
    return [{"id": a.id, "email": a.email, "full_name": a.full_name, "is_active": a.is_active,
             "available": a.available, "open_tickets": load.get(a.id, 0), "group_ids": sorted(groups.get(a.id, []))}
            for a in agents]


def list_agents(ctx: Context, args: dict) -> dict:
    session = ctx.session
    query = select(AgentCopy).order_by(func.lower(func.coalesce(AgentCopy.email, "")), AgentCopy.id)
    if args.get("group_id"):
        query = query.where(AgentCopy.id.in_(select(GroupMember.user_id).where(GroupMember.group_id == args["group_id"])))
    else:  # people of the service desk: members of a group or holders of a support role
        agents = session.execute(query).scalars().all()
        members = set(session.execute(select(GroupMember.user_id)).scalars())
        return {"items": describe(session, [a for a in agents if a.id in members or
                                            {"support_agent", "support_manager"} & set(a.roles or [])])}
    return {"items": describe(session, session.execute(query).scalars().all())}
