"""Tickets: numbering, creation from every channel, the status flow, updates, lists."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Text, bindparam, cast, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from crm_common import paging
from crm_common.errors import ServiceError, conflict, validation
from crm_common.records import lists
from crm_common.richtext import clean_fields
import crm_service_desk_contracts as c
from crm_service_desk.domain import complaints, entitlements, routing, sla, surveys
from crm_service_desk.domain.records import apply_changes, is_customer, now, soft_delete, timestamp
from crm_service_desk.domain.visibility import ticket_alternatives, visible_ticket
from crm_service_desk.models import AgentCopy, ContactCopy, Counter, Group, Ticket

if TYPE_CHECKING:
    from crm_common.context import Context

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("open", "pending", "on_hold", "solved"),
    "open": ("pending", "on_hold", "solved"),
    "pending": ("open", "on_hold", "solved"),
    "on_hold": ("open", "pending", "solved"),
    "reopened": ("open", "pending", "on_hold", "solved"),
    "solved": ("closed", "reopened"),
    "closed": (),
}
STATUS_EVENTS = {"solved": c.TICKET_SOLVED, "closed": c.TICKET_CLOSED, "reopened": c.TICKET_REOPENED}
DEFAULTS = {"description": "", "channel": "web", "type": "question", "priority": "normal"}
CUSTOMER_FIELDS = ("subject", "description", "type", "priority", "product_id", "tags", "channel")


def next_number(session: Session, name: str = "ticket", prefix: str = "T-") -> str:
    """The next number of the sequence, taken in the caller's transaction: a rollback gives it back,
    and concurrent transactions queue on the counter row, so numbers are unique and gap-free."""
    value = session.execute(update(Counter).where(Counter.name == name).values(value=Counter.value + 1)
                            .returning(Counter.value)).scalar_one_or_none()
    if value is None:
        session.add(Counter(name=name, value=1))
        session.flush()
        value = 1
    return f"{prefix}{value:06d}"


def event_data(ticket: Ticket, **extra) -> dict:
    data = {"id": ticket.id, "number": ticket.number, "status": ticket.status, "priority": ticket.priority,
            "channel": ticket.channel, "type": ticket.type, "requester_email": ticket.requester_email,
            "contact_id": ticket.contact_id, "account_id": ticket.account_id, "assignee_id": ticket.assignee_id,
            "group_id": ticket.group_id, "sla_policy_id": ticket.sla_policy_id,
            "first_response_due_at": timestamp(ticket.first_response_due_at),
            "resolution_due_at": timestamp(ticket.resolution_due_at),
            "first_responded_at": timestamp(ticket.first_responded_at), "solved_at": timestamp(ticket.solved_at),
            "closed_at": timestamp(ticket.closed_at), "custom_fields": dict(ticket.custom_fields or {})}
    data.update(extra)
    return data


def status_event_data(session: Session, ticket: Ticket, event) -> dict:
    """A status event's data; ticket_solved names the survey invitation (never its token) for the mailer."""
    extra = {}
    if event == c.TICKET_SOLVED:
        invitation = surveys.open_csat(session, ticket.id)
        extra["survey_invitation_id"] = invitation.id if invitation is not None else None
    return event_data(ticket, changed_fields=["status"], **extra)


def _check_assignment(session: Session, actor, data: dict, errors: dict) -> None:
    wants = [f for f in ("assignee_id", "group_id") if data.get(f) is not None]
    if wants and actor.scope("ticket", "assign") == "none":
        for name in wants:
            errors[name] = ["your role may not assign tickets"]
        return
    if data.get("group_id"):
        group = session.get(Group, data["group_id"])
        if group is None or group.deleted_at is not None:
            errors["group_id"] = ["no such group"]
    if data.get("assignee_id"):
        agent = session.get(AgentCopy, data["assignee_id"])
        if agent is not None and not agent.is_active:
            errors["assignee_id"] = ["this agent is deactivated"]


def _requester(session: Session, actor, data: dict, errors: dict) -> dict:
    if is_customer(actor):
        refused = [k for k in data if k not in CUSTOMER_FIELDS and k != "custom_fields"]  # those: domain/custom.py
        for name in refused:
            errors[name] = ["set by the service desk, not by customers"]
        if not actor.email and not actor.contact_id:
            errors["requester_email"] = ["your portal account has no email or contact"]
        return {"requester_email": (actor.email or "").lower() or None, "contact_id": actor.contact_id,
                "account_id": actor.account_id, "channel": "portal"}
    email = (data.get("requester_email") or "").lower() or None
    contact = None
    if data.get("contact_id"):
        contact = session.get(ContactCopy, data["contact_id"])
    elif email:
        contact = session.execute(select(ContactCopy).where(ContactCopy.email == email,
                                                            ContactCopy.merged_into_id.is_(None))
                                  .order_by(ContactCopy.id)).scalars().first()
    if contact is not None and contact.merged_into_id:
        contact = session.get(ContactCopy, contact.merged_into_id) or contact
    if not email and contact is not None and contact.email:
        email = contact.email.lower()
    if not email and not data.get("contact_id"):
        errors["requester_email"] = ["give the requester's email or contact_id"]
    name = data.get("requester_name")
    if not name and contact is not None:
        name = " ".join(p for p in (contact.first_name, contact.last_name) if p) or None
    return {"requester_email": email, "requester_name": name,
            "contact_id": contact.id if contact is not None else data.get("contact_id"),
            "account_id": data.get("account_id") or (contact.account_id if contact is not None else None)}


def create_ticket(ctx: Context, data: dict) -> Ticket:
    return open_ticket(ctx, data)


def open_ticket(ctx: Context, data: dict, requester_required: bool = True, ticket_id: str | None = None) -> Ticket:
    """A new ticket; `requester_required` False for a channel that knows no address or contact (a social
    network's handle), `ticket_id` when the asking service named the ticket (marketing's mention)."""
    session = ctx.session
    actor = ctx.caller
    data = clean_fields({**DEFAULTS, **data}, "description")
    errors: dict = {}
    requester = _requester(session, actor, data, errors)
    if not requester_required:
        errors.pop("requester_email", None)
    if not is_customer(actor):
        _check_assignment(session, actor, data, errors)
    if errors:
        raise validation(errors)
    at = now()
    fields = {k: v for k, v in data.items() if k not in ("requester_email", "requester_name", "contact_id",
                                                          "account_id")}
    fields.update(requester)
    ticket = Ticket(number=next_number(session), status="new", created_by=actor.user_id, created_at=at,
                    updated_at=at, tags=list(dict.fromkeys(fields.pop("tags", None) or [])), **fields)
    if ticket_id:
        ticket.id = ticket_id
    contract = entitlements.find_contract(session, ticket.account_id, ticket.product_id, at.date())
    ticket.service_contract_id = contract.id if contract else None
    ticket.entitled = contract is not None
    grade = sla.account_grade(session, ticket.account_id)
    routing.route(session, ticket, grade)
    if ticket.assignee_id:
        ticket.status = "open"
    sla.apply_policy(session, ticket, sla.pick_policy(session, ticket.priority, grade, contract))
    session.add(ticket)
    session.flush()
    ctx.emit(c.TICKET_OPENED, event_data(ticket))
    if ticket.assignee_id or ticket.group_id:
        ctx.emit(c.TICKET_ASSIGNED, event_data(ticket, changed_fields=["assignee_id", "group_id"]))
    if ticket.type == "complaint":
        complaints.open_for_ticket(ctx, ticket)
    return ticket


def transition(session: Session, ticket: Ticket, status: str, at: datetime) -> str | None:
    """Move the ticket to `status` with the flow's side effects; returns the event to emit (or None)."""
    old = ticket.status
    if status == old:
        return None
    if status not in TRANSITIONS[old]:
        allowed = ", ".join(TRANSITIONS[old]) or "nothing"
        raise conflict(f"a {old} ticket cannot become {status} (allowed: {allowed})",
                       allowed_statuses=list(TRANSITIONS[old]))
    if old == "pending" or status in ("solved",):
        sla.resume(session, ticket, at)
    if status == "pending":
        sla.pause(ticket, at)
    if status == "solved":
        ticket.solved_at = at
        surveys.issue_csat(session, ticket, at)
    elif status == "closed":
        ticket.closed_at = at
    elif status == "reopened":
        ticket.solved_at = None
        ticket.reopened_count = (ticket.reopened_count or 0) + 1
        sla.restart_resolution(session, ticket, at)
    ticket.status = status
    return STATUS_EVENTS.get(status, c.TICKET_UPDATED)


def update_ticket(ctx: Context, ticket_id: str, data: dict, expected_version: int | None = None) -> Ticket:
    session = ctx.session
    actor = ctx.caller
    ticket = visible_ticket(session, actor, ticket_id, "update", for_update=True)
    errors: dict = {}
    reassign = {f: data[f] for f in ("assignee_id", "group_id") if f in data and data[f] != getattr(ticket, f)}
    if reassign:
        if actor.scope("ticket", "assign") == "none":
            errors.update({f: ["your role may not assign tickets"] for f in reassign})
        else:
            _check_assignment(session, actor, {f: v for f, v in reassign.items() if v}, errors)
    if errors:
        raise validation(errors)
    at = now()
    status = data.pop("status", None)
    data = clean_fields(data, "description")
    if "tags" in data:
        data["tags"] = list(dict.fromkeys(data["tags"]))
    changed = apply_changes(ticket, data, expected_version)
    status_event = transition(session, ticket, status, at) if status else None
    if status_event:
        changed.append("status")
    if reassign and ticket.status == "new" and ticket.assignee_id:
        transition(session, ticket, "open", at)
        changed.append("status")
    if "priority" in changed:
        sla.refresh_policy(session, ticket)
    if not changed:
        return ticket
    ticket.updated_at = at
    session.flush()
    ctx.emit(c.TICKET_UPDATED, event_data(ticket, changed_fields=sorted(set(changed))))
    if reassign:
        ctx.emit(c.TICKET_ASSIGNED, event_data(ticket, changed_fields=sorted(reassign)))
    if status_event and status_event != c.TICKET_UPDATED:
        ctx.emit(status_event, status_event_data(session, ticket, status_event))
    return ticket


def get_ticket(ctx: Context, ticket_id: str) -> Ticket:
    """The ticket; on the requester's own portal view of a solved ticket, with a fresh survey token."""
    session = ctx.session
    ticket = visible_ticket(session, ctx.caller, ticket_id)
    ticket.survey_token = surveys.portal_token(session, ctx.caller, ticket)
    return ticket


def delete_ticket(ctx: Context, ticket_id: str, expected_version: int | None = None) -> None:
    ticket = visible_ticket(ctx.session, ctx.caller, ticket_id, "delete", for_update=True)
    soft_delete(ticket, expected_version)
    ctx.emit(c.TICKET_DELETED, event_data(ticket))


FILTERS = ("status", "priority", "channel", "type", "assignee_id", "group_id", "account_id", "contact_id",
           "sla_breached", "number")


def list_tickets(ctx: Context, args: dict) -> dict:
    """A page of the tickets the caller sees, as plain rows (crm_common.paging.paginate_plain): each way the caller
    sees tickets paged by its own index; custom field filters and sorts page through crm_common.records.lists."""
    if args.get("custom") or (args.get("sort") or "").lstrip("-").startswith("custom."):
        return _custom_page(ctx, args)
    filters = tuple(name for name in FILTERS if args.get(name) is not None)
    params = {f"filter_{name}": args[name] for name in filters}
    texts = {"requester_email": (args.get("requester_email") or "").lower(), "q": args.get("q") or "",
             "tag": args.get("tag") or ""}
    params.update({"filter_requester_email": texts["requester_email"], "filter_q": f"%{texts['q']}%",
                   "filter_tag": texts["tag"]})
    given = tuple(name for name, value in texts.items() if value)
    with ctx.read() as conn:
        dialect = conn.dialect.name
        shape, alternatives, scope_params = ticket_alternatives(conn, ctx.caller)

        def build():
            conditions = [Ticket.deleted_at.is_(None)]
            conditions += [getattr(Ticket, name) == bindparam(f"filter_{name}") for name in filters]
            if "requester_email" in given:
                conditions.append(Ticket.requester_email == bindparam("filter_requester_email"))
            if "q" in given:
                conditions.append(Ticket.subject.ilike(bindparam("filter_q")))
            if "tag" in given:
                conditions.append(_has_tag(dialect, "filter_tag"))
            return conditions, alternatives()
        rows, cursor = paging.paginate_plain(
            conn, Ticket, ("ticket", dialect, shape, filters, given), build, {**params, **scope_params},
            sort=args.get("sort") or "-created_at", limit=args.get("limit") or 50, cursor=args.get("cursor"),
            sortable=c.TicketQuery.SORTABLE)
    for row in rows:  # what TicketSchema reads beside the columns (Ticket.sla_paused, Ticket.survey_token)
        row["sla_paused"] = row["paused_at"] is not None
        row["survey_token"] = None
    return {"items": rows, "next_cursor": cursor}


def _custom_page(ctx: Context, args: dict) -> dict:
    """list_tickets with custom field filters or sorts. The caller's ways are one OR of each way's column equal to
    its value (an agent's groups read first), whose rows PostgreSQL estimates from the columns' statistics: an IN
    of the groups' sub-select it cannot estimate, and it overestimated an agent's tickets into a scan."""
    session = ctx.session
    _, build, values = ticket_alternatives(session.connection(), ctx.caller)
    query = select(Ticket).where(Ticket.deleted_at.is_(None))
    ways = build()  # []: every ticket
    if ways:
        query = query.where(or_(*ways).params(values))
    for name in FILTERS:
        if args.get(name) is not None:
            query = query.where(getattr(Ticket, name) == args[name])
    if args.get("requester_email"):
        query = query.where(Ticket.requester_email == args["requester_email"].lower())
    if args.get("q"):
        query = query.where(Ticket.subject.ilike(f"%{args['q']}%"))
    if args.get("tag"):
        query = query.where(has_tag(session, args["tag"]))
    return lists.page(session, Ticket.metadata, "ticket", Ticket, query, args, c.TicketQuery.SORTABLE)


def has_tag(session: Session, tag: str):
    """Tickets whose JSON list of tags holds `tag`."""
    return _has_tag(session.get_bind().dialect.name, "tag", tag)


def _has_tag(dialect: str, name: str, value=None):
    """has_tag on `dialect`, the tag the bind parameter `name` (given `value`, or at execution)."""
    tag = bindparam(name, value, type_=Text)
    if dialect == "postgresql":
        return cast(Ticket.tags, JSONB).contains(func.jsonb_build_array(cast(tag, Text)))
    return text(f"EXISTS (SELECT 1 FROM json_each(sd_tickets.tags) WHERE json_each.value = :{name})").bindparams(tag)


def require_open(ticket: Ticket) -> None:
    if ticket.status == "closed":
        raise ServiceError("conflict", "the ticket is closed; open a new one")
