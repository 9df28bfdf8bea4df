"""The sales part of privacy requests: export a person's data; erase it (anonymize, keep business totals)."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_, select

import crm_sales_contracts as c
from crm_common.db import utcnow
from crm_common.records import comments
from crm_sales.domain import contacts, leads, partner_privacy, records
from crm_sales.domain.record_comments import ATTACHMENTS
from crm_sales.models import Activity, Base, Contact, Lead

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

ERASED = "(erased)"


def _people(session, email: str):
    email = (email or "").strip().lower()
    found_leads = session.execute(select(Lead).where(Lead.email == email)).scalars().all() if email else []
    found_contacts = session.execute(select(Contact).where(Contact.email == email)).scalars().all() if email else []
    lead_ids = [lead.id for lead in found_leads]
    contact_ids = [contact.id for contact in found_contacts]
    activities = []
    if lead_ids or contact_ids:
        activities = session.execute(select(Activity).where(or_(Activity.lead_id.in_(lead_ids),
                                                                Activity.contact_id.in_(contact_ids)))).scalars().all()
    return found_leads, found_contacts, activities


def _plain(value):
    """A JSON-friendly value: timestamps in the one format, days as ISO strings, decimals as strings."""
    if isinstance(value, datetime):
        return records.timestamp(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, bool, list)):
        return value
    return str(value)


def _row(record, names) -> dict:
    return {name: _plain(getattr(record, name)) for name in names}


def export(session, email: str) -> tuple[dict, dict]:
    found_leads, found_contacts, activities = _people(session, email)
    data = {
        "leads": [_row(x, ("id", "first_name", "last_name", "company", "title", "email", "phone", "country",
                           "industry", "source", "status", "created_at")) for x in found_leads],
        "contacts": [_row(x, ("id", "account_id", "first_name", "last_name", "email", "phone", "title", "country",
                              "do_not_call", "created_at")) for x in found_contacts],
        "activities": [_row(x, ("id", "type", "subject", "description", "starts_at", "ends_at", "due_at", "status",
                                "outcome", "duration_seconds", "created_at")) for x in activities],
    }
    # the files the person's leads and contacts hold: their metadata (the bytes stay in the CRM); when any
    files = [{name: _plain(value) for name, value in row.items()}
             for resource, found in (("lead", found_leads), ("contact", found_contacts))
             for row in ATTACHMENTS.held_by(session, resource, [x.id for x in found])]
    if files:
        data["attachments"] = files
    data.update(partner_privacy.export(session, email, [contact.id for contact in found_contacts]))
    return data, {name: len(items) for name, items in data.items()}


def erase(ctx: Context, email: str) -> dict:
    """People data gone; the records stay (anonymized) so pipeline, order and forecast totals are kept."""
    session = ctx.session
    found_leads, found_contacts, activities = _people(session, email)
    now = utcnow()
    for lead in found_leads:
        changed = [n for n in ("first_name", "last_name", "title", "email", "phone") if getattr(lead, n) is not None]
        lead.first_name, lead.last_name, lead.title, lead.email, lead.phone = None, ERASED, None, None, None
        lead.anonymized_at = now
        session.flush()
        ctx.emit(c.LEAD_UPDATED, {**leads.event_data(lead), "changed_fields": changed})
    for contact in found_contacts:
        changed = [n for n in ("first_name", "last_name", "title", "email", "phone") if getattr(contact, n) is not None]
        contact.first_name, contact.last_name, contact.title, contact.email, contact.phone = None, ERASED, None, None, None
        contact.anonymized_at, contact.do_not_call = now, True
        session.flush()
        ctx.emit(c.CONTACT_UPDATED, {**contacts.event_data(contact), "changed_fields": changed})
    for activity in activities:
        changed = [n for n, erased in (("subject", ERASED), ("description", None)) if getattr(activity, n) != erased]
        activity.subject, activity.description = ERASED, None
        records.changed(ctx, "activity", activity.id, "update", changed)
    files = (ATTACHMENTS.erase_for(ctx, "lead", [lead.id for lead in found_leads])
             + ATTACHMENTS.erase_for(ctx, "contact", [contact.id for contact in found_contacts]))
    redacted = comments.redact(ctx, Base.metadata, email, c.RECORD_CHANGED)
    session.flush()
    more = {name: count for name, count in (("attachments", files), ("comments", redacted)) if count}
    return {"leads": len(found_leads), "contacts": len(found_contacts), "activities": len(activities), **more,
            **partner_privacy.erase(ctx, email, [contact.id for contact in found_contacts])}


def handle(ctx: Context, data: dict) -> None:
    """identity.privacy_requested.v1 -> sales.privacy_part_completed.v1 (done, or failed with a reason)."""
    part = {"request_id": data["request_id"], "service": "sales"}
    if data.get("kind") == "export":
        exported, counts = export(ctx.session, data.get("email"))
        ctx.emit(c.PRIVACY_PART_COMPLETED, {**part, "status": "done", "data": exported, "counts": counts})
    elif data.get("kind") == "erasure":
        counts = erase(ctx, data.get("email"))
        ctx.emit(c.PRIVACY_PART_COMPLETED, {**part, "status": "done", "counts": counts})
    else:
        ctx.emit(c.PRIVACY_PART_COMPLETED, {**part, "status": "failed", "counts": {}})
