"""Satisfaction: a CSAT survey of every solved ticket, NPS surveys to contacts, each answered once.

A survey token is the credential of an anonymous answer, so it is shown only to the invitation's
recipient and stored only as its SHA-256 digest. Tokens are issued when they are delivered, one per
channel: to the mailer for the email (`issue_email_token`, system callers only) and on the requester's
own portal view of the ticket (`portal_token`). Reissuing a channel's token replaces that channel's
digest; either channel's current token answers the invitation once.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from crm_common.errors import ServiceError, not_found, validation
import crm_service_desk_contracts as c
from crm_service_desk.domain.records import is_customer, now, page, timestamp
from crm_service_desk.models import AgentCopy, ContactCopy, NpsSurvey, SurveyInvitation, Ticket

if TYPE_CHECKING:
    from crm_common.context import Context

SCORES = {"csat": (1, 5), "nps": (0, 10)}
CHANNELS = {"email": "token_hash", "portal": "portal_token_hash"}


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 random bits


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_token(invitation: SurveyInvitation, channel: str) -> str:
    """A new token for `channel` (its previous one stops working); only the digest is kept."""
    token = new_token()
    setattr(invitation, CHANNELS[channel], digest(token))
    return token


def open_csat(session: Session, ticket_id: str) -> SurveyInvitation | None:
    """The ticket's unanswered CSAT invitation, if any."""
    return session.execute(select(SurveyInvitation).where(
        SurveyInvitation.ticket_id == ticket_id, SurveyInvitation.kind == "csat",
        SurveyInvitation.answered_at.is_(None)).order_by(SurveyInvitation.created_at.desc())).scalars().first()


def issue_csat(session: Session, ticket: Ticket, at: datetime) -> SurveyInvitation:
    """The solved ticket's CSAT invitation: its unanswered one again, or a new one."""
    invitation = open_csat(session, ticket.id)
    if invitation is None:
        invitation = SurveyInvitation(kind="csat", ticket_id=ticket.id, contact_id=ticket.contact_id,
                                      email=ticket.requester_email, created_at=at)
        session.add(invitation)
        session.flush()
    return invitation


def is_requester(actor, ticket: Ticket) -> bool:
    """Whether a portal customer is the one who asked (not a colleague who sees the account's tickets)."""
    if not is_customer(actor):
        return False
    return bool((actor.contact_id and ticket.contact_id == actor.contact_id)
                or (actor.email and ticket.requester_email == actor.email.lower()))


def portal_token(session: Session, actor, ticket: Ticket) -> str | None:
    """A fresh survey token for the requester's own view of a solved ticket with an unanswered survey."""
    if ticket.status not in ("solved", "closed") or not is_requester(actor, ticket):
        return None
    invitation = open_csat(session, ticket.id)
    return issue_token(invitation, "portal") if invitation is not None else None


def issue_email_token(ctx: Context, invitation_id: str) -> dict:
    """The token for the invitation's email, for the mailer only (inside a service, or an operator's tool
    holding the bus key); it replaces the last one."""
    session = ctx.session
    if ctx.caller.kind not in ("system", "operator"):
        raise ServiceError("forbidden", "survey tokens are handed only to the mailer")
    invitation = session.get(SurveyInvitation, invitation_id)
    if invitation is None:
        raise not_found("survey")
    if invitation.answered_at is not None:
        raise ServiceError("conflict", "this survey has already been answered")
    return {"invitation_id": invitation.id, "kind": invitation.kind, "email": invitation.email,
            "ticket_id": invitation.ticket_id, "survey_id": invitation.survey_id,
            "token": issue_token(invitation, "email")}


def _refuse_staff(session: Session, actor, invitation: SurveyInvitation | None = None) -> None:
    """Staff never answer satisfaction surveys: not signed in as staff, nor as the recipient by email."""
    if actor.kind not in ("system", "anonymous") and not is_customer(actor):
        raise ServiceError("forbidden", "staff may not answer satisfaction surveys")
    if invitation is not None and invitation.email:
        roles = session.execute(select(AgentCopy.roles).where(AgentCopy.email == invitation.email.lower())
                                ).scalars().all()
        if any(set(r or []) - {"customer"} for r in roles):
            raise ServiceError("forbidden", "staff may not answer satisfaction surveys")


def respond(ctx: Context, data: dict, token: str | None = None) -> SurveyInvitation:
    """Answer the invitation whose token the call names (`token`), once; staff are refused."""
    session = ctx.session
    _refuse_staff(session, ctx.caller)
    if not token:
        raise not_found("survey")
    hashed = digest(token)
    query = select(SurveyInvitation).where(or_(SurveyInvitation.token_hash == hashed,
                                               SurveyInvitation.portal_token_hash == hashed))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    invitation = session.execute(query).scalar_one_or_none()
    if invitation is None:
        raise not_found("survey")
    _refuse_staff(session, ctx.caller, invitation)
    low, high = SCORES[invitation.kind]
    if not low <= data["score"] <= high:
        raise validation({"score": [f"a whole number from {low} to {high}"]})
    if invitation.answered_at is not None:
        raise ServiceError("conflict", "this survey has already been answered")
    invitation.score = data["score"]
    invitation.comment = data.get("comment")
    invitation.answered_at = now()
    ctx.emit(c.SURVEY_ANSWERED, {"id": invitation.id, "ticket_id": invitation.ticket_id, "score": invitation.score,
                                 "comment": invitation.comment, "kind": invitation.kind,
                                 "survey_id": invitation.survey_id, "contact_id": invitation.contact_id})
    return invitation


def create_nps(ctx: Context, data: dict) -> dict:
    """An NPS survey to known contacts (at most c.NPS_INVITATIONS_PER_REQUEST), by staff whose role may
    create surveys for everyone: a survey reaches contacts across the company."""
    session = ctx.session
    actor = ctx.caller
    if is_customer(actor) or actor.scope("survey", "create") != "all":
        raise ServiceError("forbidden", "your role may not send NPS surveys")
    wanted = list(dict.fromkeys(data["contact_ids"]))
    if len(wanted) > c.NPS_INVITATIONS_PER_REQUEST:
        raise validation({"contact_ids": [f"at most {c.NPS_INVITATIONS_PER_REQUEST} contacts per survey"]})
    at = now()
    survey = NpsSurvey(name=data["name"], question=data["question"], created_by=actor.user_id, created_at=at,
                       updated_at=at)
    session.add(survey)
    session.flush()
    contacts = {c.id: c for c in session.execute(select(ContactCopy).where(ContactCopy.id.in_(wanted))).scalars()}
    invitations, skipped = [], []
    for contact_id in wanted:
        contact = contacts.get(contact_id)
        if contact is None or not contact.email:
            skipped.append(contact_id)
            continue
        invitation = SurveyInvitation(kind="nps", survey_id=survey.id, contact_id=contact_id,
                                      email=contact.email, created_at=at)
        session.add(invitation)
        invitations.append(invitation)
    if not invitations:
        raise validation({"contact_ids": ["none of these contacts is known with an email address"]})
    session.flush()
    ctx.emit(c.NPS_SURVEY_CREATED, {"id": survey.id, "name": survey.name, "question": survey.question,
                                    "invitations": [{"id": i.id, "contact_id": i.contact_id, "email": i.email}
                                                    for i in invitations]})
    return {**nps_figures(session, survey), "skipped_contact_ids": skipped}


def nps_figures(session: Session, survey: NpsSurvey) -> dict:
    rows = session.execute(select(SurveyInvitation.score).where(SurveyInvitation.survey_id == survey.id)).scalars().all()
    answered = [s for s in rows if s is not None]
    promoters = sum(1 for s in answered if s >= 9)
    detractors = sum(1 for s in answered if s <= 6)
    return {"id": survey.id, "kind": "nps", "name": survey.name, "question": survey.question,
            "invitations": len(rows), "responses": len(answered), "promoters": promoters,
            "passives": len(answered) - promoters - detractors, "detractors": detractors,
            "nps": round(100.0 * (promoters - detractors) / len(answered), 1) if answered else None,
            "skipped_contact_ids": [], "created_at": timestamp(survey.created_at)}


def get_nps(ctx: Context, survey_id: str) -> dict:
    session = ctx.session
    survey = session.get(NpsSurvey, survey_id)
    if survey is None:
        raise not_found("survey")
    return nps_figures(session, survey)


FILTERS = ("kind", "ticket_id", "survey_id")


def list_invitations(ctx: Context, args: dict) -> dict:
    session = ctx.session
    query = select(SurveyInvitation)
    for name in FILTERS:
        if args.get(name) is not None:
            query = query.where(getattr(SurveyInvitation, name) == args[name])
    if args.get("answered") is not None:
        column = SurveyInvitation.answered_at
        query = query.where(column.is_not(None) if args["answered"] else column.is_(None))
    return page(session, query, SurveyInvitation, args, c.SurveyQuery.SORTABLE)


def summary(ctx: Context) -> dict:
    session = ctx.session
    answered = SurveyInvitation.answered_at.is_not(None)
    csat = session.execute(select(func.count(), func.avg(SurveyInvitation.score),
                                  func.sum(case((SurveyInvitation.score >= 4, 1), else_=0)))
                           .where(answered, SurveyInvitation.kind == "csat")).one()
    nps_scores = session.execute(select(SurveyInvitation.score).where(answered, SurveyInvitation.kind == "nps")
                                 ).scalars().all()
    promoters = sum(1 for s in nps_scores if s >= 9)
    detractors = sum(1 for s in nps_scores if s <= 6)
    count = csat[0] or 0
    return {"csat_responses": count,
            "csat_average": round(float(csat[1]), 2) if count else None,
            "csat_satisfied_percent": round(100.0 * (csat[2] or 0) / count, 1) if count else None,
            "nps_responses": len(nps_scores),
            "nps": round(100.0 * (promoters - detractors) / len(nps_scores), 1) if nps_scores else None}

