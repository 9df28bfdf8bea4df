"""A marketing web form submission (marketing.form_submitted.v1) becomes a lead: the open lead of the same
email is updated with the answers, else a new lead is created (its duplicates by phone or company linked).

Updating keeps what the person did not answer, never touches status, owner or score, and keeps the
campaign the lead first came from (first-touch attribution): a lead without one takes the form's.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from crm_sales.domain import leads
from crm_sales.models import Lead

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

NEVER_FROM_A_FORM = ("status", "score", "email", "campaign_id")


def open_lead_of(session, email) -> Lead | None:
    """The oldest live, unconverted lead of the address (stored lower-cased), or None."""
    if not isinstance(email, str) or not email.strip():
        return None
    return session.execute(select(Lead).where(
        Lead.email == email.strip().lower(), Lead.deleted_at.is_(None), Lead.anonymized_at.is_(None),
        Lead.status != "converted").order_by(Lead.created_at).limit(1)).scalar()


def update_from_form(ctx: Context, lead: Lead, answers: dict) -> Lead:
    """The lead with the form's answers (LEAD_UPDATED names what changed; nothing changed, no event)."""
    values = {name: value for name, value in answers.items()
              if name in leads.EDITABLE and name not in NEVER_FROM_A_FORM}
    if answers.get("campaign_id") and not lead.campaign_id:
        values["campaign_id"] = answers["campaign_id"]
    return leads.update(ctx, lead.id, values) if values else lead
