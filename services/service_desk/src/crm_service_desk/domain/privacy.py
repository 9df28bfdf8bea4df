"""The service desk's part of a privacy request: export a person's tickets and public replies, or
erase them (the requester's email and name on tickets, comments, complaints and surveys are
anonymized; counts and SLA figures stay). The files on the person's tickets: their metadata in the export (the bytes
stay in the CRM), gone from the store and the table on erasure."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from crm_common import privacy
import crm_service_desk_contracts as c
from crm_service_desk.domain.custom import ATTACHMENTS
from crm_service_desk.domain.records import timestamp
from crm_service_desk.models import Comment, Complaint, ContactCopy, SurveyInvitation, Ticket

if TYPE_CHECKING:
    from crm_common.context import Context

SERVICE = "service_desk"
ERASED_NAME = "[erased]"


def _tickets(session: Session, email: str, contact_ids: list[str]) -> list[Ticket]:
    conditions = [Ticket.requester_email == email]
    if contact_ids:
        conditions.append(Ticket.contact_id.in_(contact_ids))
    return session.execute(select(Ticket).where(or_(*conditions)).order_by(Ticket.created_at)).scalars().all()


def export(session: Session, email: str) -> tuple[dict, dict]:
    contact_ids = _contact_ids(session, email)
    tickets = _tickets(session, email, contact_ids)
    items = []
    comment_count = 0
    for ticket in tickets:
        comments = session.execute(select(Comment).where(Comment.ticket_id == ticket.id, Comment.public.is_(True))
                                   .order_by(Comment.created_at)).scalars().all()
        comment_count += len(comments)
        items.append({"number": ticket.number, "subject": ticket.subject, "description": ticket.description,
                      "status": ticket.status, "channel": ticket.channel, "created_at": timestamp(ticket.created_at),
                      "solved_at": timestamp(ticket.solved_at),
                      "comments": [{"body": c.body, "created_at": timestamp(c.created_at), "author_kind": c.author_kind}
                                   for c in comments]})
    surveys = session.execute(select(SurveyInvitation).where(SurveyInvitation.email == email,
                                                             SurveyInvitation.answered_at.is_not(None))).scalars().all()
    data = {"tickets": items,
            "survey_responses": [{"kind": s.kind, "score": s.score, "comment": s.comment,
                                  "answered_at": timestamp(s.answered_at)} for s in surveys]}
    counts = {"tickets": len(items), "comments": comment_count, "survey_responses": len(surveys)}
    files = [{name: timestamp(value) if name == "created_at" else value for name, value in row.items()}
             for row in ATTACHMENTS.held_by(session, "ticket", [ticket.id for ticket in tickets])]
    if files:
        data["attachments"], counts["attachments"] = files, len(files)
    return data, counts


def erase(session: Session, email: str) -> dict:
    contact_ids = _contact_ids(session, email)
    tickets = _tickets(session, email, contact_ids)
    for ticket in tickets:
        ticket.requester_email = None
        ticket.requester_name = ERASED_NAME
    comments = session.execute(update(Comment).where(Comment.author_email == email)
                               .values(author_email=None, author_name=ERASED_NAME)).rowcount
    complaints = session.execute(update(Complaint).where(Complaint.requester_email == email)
                                 .values(requester_email=None)).rowcount
    surveys = session.execute(update(SurveyInvitation).where(SurveyInvitation.email == email)
                              .values(email=None)).rowcount
    session.execute(update(ContactCopy).where(ContactCopy.email == email)
                    .values(email=None, first_name=None, last_name=ERASED_NAME, phone=None))
    return {"tickets": len(tickets), "comments": comments, "complaints": complaints, "surveys": surveys}


def _contact_ids(session: Session, email: str) -> list[str]:
    return list(session.execute(select(ContactCopy.id).where(ContactCopy.email == email)).scalars())


def answer(ctx: Context, request: dict) -> None:
    """The service desk's part of a privacy request (`request`: what it reads of identity.privacy_requested)."""
    email = (request.get("email") or "").strip().lower()
    kind = request.get("kind")
    if not email or kind not in ("erasure", "export"):
        ctx.emit(c.PRIVACY_PART_COMPLETED, privacy.part(request, SERVICE, status="failed"))
    elif kind == "export":
        exported, counts = export(ctx.session, email)
        ctx.emit(c.PRIVACY_PART_COMPLETED, privacy.part(request, SERVICE, data=exported, counts=counts))
    else:
        ticket_ids = [ticket.id for ticket in _tickets(ctx.session, email, _contact_ids(ctx.session, email))]
        counts = erase(ctx.session, email)
        files = ATTACHMENTS.erase_for(ctx, "ticket", ticket_ids)
        if files:
            counts["attachments"] = files
        ctx.emit(c.PRIVACY_PART_COMPLETED, privacy.part(request, SERVICE, counts=counts))
