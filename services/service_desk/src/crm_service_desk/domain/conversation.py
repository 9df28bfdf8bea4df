"""A ticket's conversation: public replies and internal notes, the first response, customer replies
that reopen a solved ticket, and the time agents log on it."""
from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_common.errors import ServiceError, validation
from crm_common.richtext import clean
import crm_service_desk_contracts as c
from crm_service_desk.domain import entitlements, desk_settings, tickets
from crm_service_desk.domain.records import is_customer, now, page
from crm_service_desk.domain.visibility import visible_ticket
from crm_service_desk.models import Comment, TimeLog

if TYPE_CHECKING:
    from crm_common.context import Context


def add_comment(ctx: Context, ticket_id: str, data: dict) -> Comment:
    session = ctx.session
    actor = ctx.caller
    customer = is_customer(actor)
    ticket = visible_ticket(session, actor, ticket_id, for_update=True)
    if customer:
        errors = {}
        if data.get("public") is False:
            errors["public"] = ["customers write public replies"]
        if data.get("status"):
            errors["status"] = ["set by the service desk, not by customers"]
        if errors:
            raise validation(errors)
    elif actor.scope("ticket", "update") == "none" or not _may_update(session, actor, ticket_id):
        raise ServiceError("forbidden", "your role may not reply on this ticket")
    tickets.require_open(ticket)
    at = now()
    public = True if customer else data.get("public", True)
    comment = Comment(ticket_id=ticket.id, author_id=actor.user_id, author_email=(actor.email or None),
                      author_kind="customer" if customer else ("system" if actor.kind == "system" else "user"),
                      body=clean(data["body"]), public=public, created_at=at)
    session.add(comment)
    events: list[tuple[str, list[str]]] = []
    if customer:
        events += _customer_reply(session, ticket, at)
    else:
        if public and ticket.first_responded_at is None:
            ticket.first_responded_at = at
            events.append((c.TICKET_FIRST_RESPONSE, ["first_responded_at"]))
        target = data.get("status") or ("open" if public and ticket.status == "new" else None)
        if target:
            event = tickets.transition(session, ticket, target, at)
            if event:
                events.append((event, ["status"]))
    if events:
        ticket.updated_at = at
    session.flush()
    ctx.emit(c.COMMENT_ADDED, {"id": comment.id, "ticket_id": ticket.id, "author_id": comment.author_id,
                               "author_kind": comment.author_kind, "public": comment.public})
    for event, changed in events:
        if changed == ["status"]:
            ctx.emit(event, tickets.status_event_data(session, ticket, event))
        else:
            ctx.emit(event, tickets.event_data(ticket, changed_fields=changed))
    return comment


def _may_update(session: Session, actor, ticket_id: str) -> bool:
    try:
        visible_ticket(session, actor, ticket_id, "update")
        return True
    except ServiceError:
        return False


def _customer_reply(session: Session, ticket, at) -> list[tuple[str, list[str]]]:
    """A customer's reply reopens a ticket solved within the reopen window, and resumes a pending one."""
    if ticket.status == "solved":
        days = desk_settings.current(session).reopen_days
        if ticket.solved_at is None or at - ticket.solved_at > timedelta(days=days):
            raise ServiceError("conflict", f"this ticket was solved more than {days} days ago; open a new ticket")
        return [(tickets.transition(session, ticket, "reopened", at), ["status"])]
    if ticket.status == "pending":
        return [(tickets.transition(session, ticket, "open", at), ["status"])]
    return []


def list_comments(ctx: Context, ticket_id: str, args: dict) -> dict:
    session = ctx.session
    actor = ctx.caller
    visible_ticket(session, actor, ticket_id)
    query = select(Comment).where(Comment.ticket_id == ticket_id)
    if is_customer(actor):
        query = query.where(Comment.public.is_(True))
    return page(session, query, Comment, args, ("created_at",))


def log_time(ctx: Context, ticket_id: str, data: dict) -> TimeLog:
    session = ctx.session
    actor = ctx.caller
    ticket = visible_ticket(session, actor, ticket_id, "update")
    log = TimeLog(ticket_id=ticket.id, user_id=actor.user_id, minutes=data["minutes"], note=data.get("note"),
                  service_contract_id=ticket.service_contract_id, created_at=now())
    session.add(log)
    session.flush()
    if ticket.service_contract_id:
        entitlements.recount_hours(session, ticket.service_contract_id)
    return log


def list_time_logs(ctx: Context, ticket_id: str, args: dict) -> dict:
    session = ctx.session
    visible_ticket(session, ctx.caller, ticket_id, "update")
    return page(session, select(TimeLog).where(TimeLog.ticket_id == ticket_id), TimeLog, args, ("created_at",))
