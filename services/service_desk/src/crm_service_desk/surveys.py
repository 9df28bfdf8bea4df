"""Satisfaction: a CSAT survey token for every solved ticket, NPS surveys to contacts, answers once."""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from crm_common.contracts import service_desk as C
from crm_common.errors import ServiceError, not_found, validation
from crm_service_desk.common import iso, need, now, page
from crm_service_desk.models import ContactCopy, NpsSurvey, SurveyInvitation, Ticket

SCORES = {"csat": (1, 5), "nps": (0, 10)}


def new_token() -> str:
    return secrets.token_urlsafe(24)


def issue_csat(session: Session, ticket: Ticket, at: datetime) -> str:
    """The ticket's survey token: its unanswered one again, or a new one."""
    if ticket.survey_token:
        current = session.execute(select(SurveyInvitation).where(
            SurveyInvitation.token == ticket.survey_token)).scalar_one_or_none()
        if current is not None and current.answered_at is None:
            return current.token
    invitation = SurveyInvitation(kind="csat", token=new_token(), ticket_id=ticket.id, contact_id=ticket.contact_id,
                                  email=ticket.requester_email, created_at=at)
    session.add(invitation)
    return invitation.token


def respond(session: Session, uow, token: str, data: dict) -> SurveyInvitation:
    query = select(SurveyInvitation).where(SurveyInvitation.token == token)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    invitation = session.execute(query).scalar_one_or_none()
    if invitation is None:
        raise not_found("survey")
    low, high = SCORES[invitation.kind]
    if not low <= data["score"] <= high:
        raise validation({"score": [f"a whole number from {low} to {high}"]})
    if invitation.answered_at is not None:
        raise ServiceError("conflict", "this survey has already been answered")
    invitation.score = data["score"]
    invitation.comment = data.get("comment")
    invitation.answered_at = now()
    uow.emit(C.SURVEY_ANSWERED, {"id": invitation.id, "ticket_id": invitation.ticket_id, "score": invitation.score,
                                 "comment": invitation.comment, "kind": invitation.kind,
                                 "survey_id": invitation.survey_id, "contact_id": invitation.contact_id})
    return invitation


def create_nps(session: Session, uow, data: dict) -> dict:
    need(uow.caller, "survey", "create")
    at = now()
    survey = NpsSurvey(name=data["name"], question=data["question"], created_by=uow.caller.user_id, created_at=at,
                       updated_at=at)
    session.add(survey)
    session.flush()
    wanted = list(dict.fromkeys(data["contact_ids"]))
    contacts = {c.id: c for c in session.execute(select(ContactCopy).where(ContactCopy.id.in_(wanted))).scalars()}
    invitations, skipped = [], []
    for contact_id in wanted:
        contact = contacts.get(contact_id)
        if contact is None or not contact.email:
            skipped.append(contact_id)
            continue
        invitation = SurveyInvitation(kind="nps", token=new_token(), survey_id=survey.id, contact_id=contact_id,
                                      email=contact.email, created_at=at)
        session.add(invitation)
        invitations.append({"contact_id": contact_id, "email": contact.email, "token": invitation.token})
    if not invitations:
        raise validation({"contact_ids": ["none of these contacts is known with an email address"]})
    uow.emit(C.NPS_SURVEY_CREATED, {"id": survey.id, "name": survey.name, "question": survey.question,
                                    "invitations": invitations})
    session.flush()
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
            "skipped_contact_ids": [], "created_at": iso(survey.created_at)}


def get_nps(session: Session, uow, survey_id: str) -> dict:
    need(uow.caller, "survey", "read")
    survey = session.get(NpsSurvey, survey_id)
    if survey is None:
        raise not_found("survey")
    return nps_figures(session, survey)


FILTERS = ("kind", "ticket_id", "survey_id")


def list_invitations(session: Session, uow, args: dict) -> dict:
    need(uow.caller, "survey", "read")
    query = select(SurveyInvitation)
    for name in FILTERS:
        if args.get(name) is not None:
            query = query.where(getattr(SurveyInvitation, name) == args[name])
    if args.get("answered") is not None:
        column = SurveyInvitation.answered_at
        query = query.where(column.is_not(None) if args["answered"] else column.is_(None))
    return page(session, query, SurveyInvitation, args, ("created_at",))


def summary(session: Session, uow) -> dict:
    need(uow.caller, "survey", "read")
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

