"""The service desk's local copies of sales's contacts and accounts (requester lookup by email, the
account's grade for routing and SLA), kept from their events; a merged contact hands its tickets over."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlalchemy.orm import Session

from crm_service_desk.models import AccountCopy, ContactCopy, Ticket

if TYPE_CHECKING:
    from crm_common.context import Context

CONTACT_FIELDS = ("account_id", "first_name", "last_name", "email", "phone")
ACCOUNT_FIELDS = ("name", "grade", "country", "industry")


def _copy(session: Session, model, data: dict, names: tuple[str, ...]):
    """Create or update the copy with the fields the event names (a field it leaves out stays as it was)."""
    record = session.get(model, data["id"])
    if record is None:
        record = model(id=data["id"])
        session.add(record)
    for name in names:
        if name in data:
            value = data[name]
            if name == "email" and value:
                value = value.strip().lower()
            if name == "country" and value:
                value = value[:2]
            if name == "grade" and value:
                value = value[:1]
            setattr(record, name, value)
    return record


def contact_changed(ctx: Context, data: dict) -> ContactCopy:
    return _copy(ctx.session, ContactCopy, data, CONTACT_FIELDS)


def account_changed(ctx: Context, data: dict) -> AccountCopy:
    return _copy(ctx.session, AccountCopy, data, ACCOUNT_FIELDS)


def contact_merged(ctx: Context, data: dict) -> None:
    """The surviving contact is copied; contacts merged into it hand their tickets over."""
    session = ctx.session
    survivor = _copy(session, ContactCopy, data, CONTACT_FIELDS)
    merged = [i for i in (data.get("merged_ids") or data.get("merged_contact_ids") or
                          ([data["merged_id"]] if data.get("merged_id") else [])) if i != survivor.id]
    for merged_id in merged:
        loser = session.get(ContactCopy, merged_id)
        if loser is not None:
            loser.merged_into_id = survivor.id
        session.execute(update(Ticket).where(Ticket.contact_id == merged_id)
                        .values(contact_id=survivor.id, version=Ticket.version + 1))
