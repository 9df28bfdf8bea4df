"""Which tickets a caller may see or change.

support_manager: all. support_agent ("team"): tickets of the groups the agent belongs to, plus the ones
assigned to or opened by the agent. "own": assigned to or opened by the caller. Portal customers: the
tickets they requested (their contact or their email), and their account's when the settings allow.
"""
from __future__ import annotations

from sqlalchemy import bindparam, false, or_, select, true
from sqlalchemy.orm import Session

from crm_common import scope as kernel_scope
from crm_common.context import Actor
from crm_common.errors import ServiceError, not_found
from crm_service_desk.domain import desk_settings
from crm_service_desk.domain.records import is_customer
from crm_service_desk.models import DeskSettings, GroupMember, Ticket


def _customer_ways(actor: Actor, see_account: bool) -> list[tuple]:
    """A portal customer's tickets as (column, parameter name, value): one of them matches."""
    ways = []
    if actor.contact_id:
        ways.append((Ticket.contact_id, "scope_contact", actor.contact_id))
    if actor.email:
        ways.append((Ticket.requester_email, "scope_email", actor.email.lower()))
    if actor.account_id and see_account:
        ways.append((Ticket.account_id, "scope_account", actor.account_id))
    return ways


def customer_clause(session: Session, actor: Actor):
    ways = _customer_ways(actor, bool(actor.account_id)
                          and desk_settings.current(session).customers_see_account_tickets)
    return or_(*[column == value for column, _, value in ways]) if ways else false()


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


def ticket_alternatives(conn, actor: Actor, action: str = "read") -> tuple[tuple, object, dict]:
    """ticket_clause for a statement built once per shape (crm_common.paging.paginate_plain), read on `conn`:
    (shape, build, params), `build()` giving the conditions of which a visible ticket meets one or more ([]: every
    ticket), each on one column that an index of (column, created_at, id) pages in order, on bind parameters whose
    values are `params`. An agent's groups, read here, are a condition each: one IN of them would read and sort
    every ticket of the groups for each page."""
    level = actor.scope("ticket", action)
    if level == "none":
        ways = []
    elif is_customer(actor):
        see_account = bool(actor.account_id) and bool(conn.execute(
            select(DeskSettings.customers_see_account_tickets).where(DeskSettings.id == 1)).scalar())
        ways = _customer_ways(actor, see_account)  # no settings row yet: their defaults (desk_settings.current)
    elif level == "all":
        return ("all",), list, {}
    elif not actor.user_id:
        ways = []
    else:
        ways = [(Ticket.assignee_id, "scope_user", actor.user_id), (Ticket.created_by, "scope_user", actor.user_id)]
        if level in ("team", "territory"):
            groups = conn.execute(select(GroupMember.group_id).where(GroupMember.user_id == actor.user_id)
                                  .order_by(GroupMember.group_id)).scalars().all()
            ways += [(Ticket.group_id, f"scope_group_{n}", group) for n, group in enumerate(groups)]
    names = tuple((column.key, name) for column, name, _ in ways)

    def build() -> list:
        return [column == bindparam(name) for column, name, _ in ways] or [false()]
    return names, build, {name: value for _, name, value in ways}


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
