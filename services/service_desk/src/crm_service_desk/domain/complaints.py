"""Complaints: acknowledgement and final-response deadlines, root cause, resolution, compensation."""
from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from crm_common.errors import ServiceError, not_found, validation
from crm_common.richtext import clean_fields
import crm_service_desk_contracts as c
from crm_service_desk.domain import desk_settings
from crm_service_desk.domain.business_hours import add_business_minutes
from crm_service_desk.domain.records import apply_changes, now, page, timestamp
from crm_service_desk.domain.visibility import ticket_clause, visible_ticket
from crm_service_desk.models import Complaint, Ticket

if TYPE_CHECKING:
    from crm_common.context import Context

ORDER = ("received", "acknowledged", "resolved")


def _new(ctx: Context, fields: dict) -> Complaint:
    session = ctx.session
    settings = desk_settings.current(session)
    at = now()
    complaint = Complaint(received_at=at, created_at=at, updated_at=at, status="received",
                          acknowledgement_due_at=add_business_minutes(at, settings.complaint_ack_minutes, None),
                          final_response_due_at=add_business_minutes(at, settings.complaint_final_response_minutes,
                                                                     None),
                          **fields)
    session.add(complaint)
    session.flush()
    ctx.emit(c.COMPLAINT_OPENED, _event(complaint))
    return complaint


def open_for_ticket(ctx: Context, ticket: Ticket) -> Complaint:
    """A ticket of type complaint carries a complaint record with its deadlines."""
    return _new(ctx, {"ticket_id": ticket.id, "subject": ticket.subject,
                      "description": ticket.description or "", "requester_email": ticket.requester_email,
                      "contact_id": ticket.contact_id, "account_id": ticket.account_id,
                      "owner_id": ticket.assignee_id})


def create(ctx: Context, data: dict) -> Complaint:
    session = ctx.session
    data = clean_fields(data, "description")
    if data.get("ticket_id"):
        ticket = visible_ticket(session, ctx.caller, data["ticket_id"])
        existing = session.execute(select(Complaint).where(Complaint.ticket_id == ticket.id)).scalars().first()
        if existing is not None:
            raise ServiceError("conflict", "this ticket already has a complaint", extra={"complaint_id": existing.id})
        for name in ("subject", "requester_email", "contact_id", "account_id"):
            data.setdefault(name, getattr(ticket, name))
        data.setdefault("description", ticket.description or "")
    elif not data.get("subject"):
        raise validation({"subject": ["required without a ticket_id"]})
    if not data.get("requester_email") and not data.get("contact_id"):
        raise validation({"requester_email": ["give the complainant's email or contact_id (or a ticket_id)"]})
    if data.get("requester_email"):
        data["requester_email"] = data["requester_email"].lower()
    return _new(ctx, data)


def _visible_query(session: Session, actor):
    query = select(Complaint)
    if actor.scope("complaint", "read") != "all":
        tickets = select(Ticket.id).where(ticket_clause(session, actor, "read"))
        query = query.where(or_(Complaint.owner_id == actor.user_id, Complaint.ticket_id.in_(tickets)))
    return query


def get(ctx: Context, complaint_id: str) -> Complaint:
    session = ctx.session
    complaint = session.execute(_visible_query(session, ctx.caller).where(Complaint.id == complaint_id)
                                ).scalar_one_or_none()
    if complaint is None:
        raise not_found("complaint")
    return complaint


def update(ctx: Context, complaint_id: str, data: dict, expected_version: int | None = None) -> Complaint:
    session = ctx.session
    complaint = get(ctx, complaint_id)
    data = clean_fields(data, "description")
    status = data.pop("status", None)
    at = now()
    errors = {}
    if status and ORDER.index(status) < ORDER.index(complaint.status):
        raise ServiceError("conflict", f"a {complaint.status} complaint cannot go back to {status}")
    if status == "resolved" and complaint.status != "resolved":
        resolution = data.get("resolution", complaint.resolution)
        if not resolution:
            errors["resolution"] = ["a complaint is resolved with its resolution (the final response)"]
        if not data.get("root_cause", complaint.root_cause):
            errors["root_cause"] = ["say what caused the complaint"]
    amount = data.get("compensation_amount", complaint.compensation_amount)
    currency = data.get("compensation_currency", complaint.compensation_currency)
    if amount is not None and amount > Decimal("0") and not currency:
        errors["compensation_currency"] = ["required with a compensation amount"]
    if errors:
        raise validation(errors)
    changed = apply_changes(complaint, data, expected_version)
    if status and status != complaint.status:
        if complaint.acknowledged_at is None:
            complaint.acknowledged_at = at
        if status == "resolved":
            complaint.resolved_at = at
        complaint.status = status
        changed.append("status")
    if not changed:
        return complaint
    complaint.updated_at = at
    session.flush()
    ctx.emit(c.COMPLAINT_UPDATED, _event(complaint, changed))
    if status == "resolved" and "status" in changed:
        ctx.emit(c.COMPLAINT_RESOLVED, _event(complaint, changed))
    return complaint


def list_complaints(ctx: Context, args: dict) -> dict:
    session = ctx.session
    query = _visible_query(session, ctx.caller)
    for name in ("status", "category", "root_cause", "ticket_id"):
        if args.get(name) is not None:
            query = query.where(getattr(Complaint, name) == args[name])
    if args.get("overdue") is not None:
        at = now()
        overdue = or_(and_(Complaint.status == "received", Complaint.acknowledgement_due_at < at),
                      and_(Complaint.status != "resolved", Complaint.final_response_due_at < at))
        query = query.where(overdue if args["overdue"] else ~overdue)
    if args.get("q"):
        query = query.where(Complaint.subject.ilike(f"%{args['q']}%"))
    return page(session, query, Complaint, args, c.ComplaintQuery.SORTABLE)


def report(ctx: Context, args: dict) -> dict:
    session = ctx.session
    query = _visible_query(session, ctx.caller)
    if args.get("received_from"):
        query = query.where(Complaint.received_at >= args["received_from"])
    if args.get("received_to"):
        query = query.where(Complaint.received_at < args["received_to"])
    rows = session.execute(query).scalars().all()
    acknowledged = [c for c in rows if c.acknowledged_at is not None]
    resolved = [c for c in rows if c.resolved_at is not None]
    money: dict[str, Decimal] = {}
    for c in rows:
        if c.compensation_amount and c.compensation_currency:
            money[c.compensation_currency] = money.get(c.compensation_currency, Decimal("0")) + c.compensation_amount

    def counts(attr):
        return [{"key": k, "count": n} for k, n in sorted(Counter(getattr(c, attr) for c in rows).items(),
                                                          key=lambda kv: (-kv[1], str(kv[0])))]

    def percent(items, done_attr, due_attr):
        if not items:
            return None
        return round(100.0 * sum(1 for c in items if getattr(c, done_attr) <= getattr(c, due_attr)) / len(items), 1)

    return {"total": len(rows), "by_status": counts("status"), "by_category": counts("category"),
            "by_root_cause": counts("root_cause"),
            "acknowledgement_overdue": sum(1 for c in rows if c.status == "received" and c.acknowledgement_overdue),
            "final_response_overdue": sum(1 for c in rows if c.status != "resolved" and c.final_response_overdue),
            "acknowledged_on_time_percent": percent(acknowledged, "acknowledged_at", "acknowledgement_due_at"),
            "resolved_on_time_percent": percent(resolved, "resolved_at", "final_response_due_at"),
            "compensation": [{"currency": k, "total": v} for k, v in sorted(money.items())]}


def _event(complaint: Complaint, changed: list[str] | None = None) -> dict:
    data = {"id": complaint.id, "ticket_id": complaint.ticket_id, "status": complaint.status,
            "category": complaint.category, "root_cause": complaint.root_cause,
            "compensation_amount": str(complaint.compensation_amount) if complaint.compensation_amount is not None
            else None, "compensation_currency": complaint.compensation_currency,
            "resolved_at": timestamp(complaint.resolved_at),
            "on_time": (complaint.resolved_at <= complaint.final_response_due_at) if complaint.resolved_at else None}
    if changed is not None:
        data["changed_fields"] = sorted(set(changed))
    return data
