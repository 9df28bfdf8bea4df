"""Which tickets a caller may see or change.

support_manager: all. support_agent ("team"): tickets of the groups the agent belongs to, plus the ones
assigned to or opened by the agent. "own": assigned to or opened by the caller. Portal customers: the
tickets they requested (their contact or their email), and their account's when the settings allow.
"""
from __future__ import annotations

from sqlalchemy import false, or_, select, true
from sqlalchemy.orm import Session

from crm_common import scope as kernel_scope
from crm_common.context import Actor
from crm_common.errors import ServiceError, not_found
from crm_service_desk.domain import desk_settings
from crm_service_desk.domain.records import is_customer
from crm_service_desk.models import GroupMember, Ticket


def customer_clause(session: Session, actor: Actor):
    conditions = []
    if actor.contact_id:
        conditions.append(Ticket.contact_id == actor.contact_id)
    if actor.email:
        conditions.append(Ticket.requester_email == actor.email.lower())
    if actor.account_id and desk_settings.current(session).customers_see_account_tickets:
        conditions.append(Ticket.account_id == actor.account_id)
    return or_(*conditions) if conditions else false()


def ticket_clause(session: Session, actor: Actor, action: str = "read"):
    level = actor.scope("ticket", action)
    if level == "none":
        return false()
    if is_customer(actor):
        return customer_clause(session, actor)
    if level == "all":
        return true()
    conditions = [kernel_scope.clause(actor, "ticket", action, Ticket)]  # own: the assignee
    if actor.user_id:
        conditions.append(Ticket.created_by == actor.user_id)
        if level in ("team", "territory"):
            conditions.append(kernel_scope.among(  # so the OR is a BitmapOr of three indexes, not a scan
                Ticket.group_id, select(GroupMember.group_id).where(GroupMember.user_id == actor.user_id)))
    return or_(*conditions)


def visible_ticket(session: Session, actor: Actor, ticket_id: str, action: str = "read",
                   for_update: bool = False) -> Ticket:
    """The ticket if the caller can see it (404 otherwise) and may `action` it (403 otherwise)."""
    query = select(Ticket).where(Ticket.id == ticket_id, Ticket.deleted_at.is_(None),
                                 ticket_clause(session, actor, "read"))
    if for_update and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Ticket)
    ticket = session.execute(query).scalar_one_or_none()
    if ticket is None:
        raise not_found("ticket")
    if action != "read":
        allowed = session.execute(select(Ticket.id).where(Ticket.id == ticket_id,
                                                          ticket_clause(session, actor, action))).first()
        if allowed is None:
            raise ServiceError("forbidden", f"your role may not {action} this ticket")
    return ticket
