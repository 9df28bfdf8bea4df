"""What the service_desk service does with the events it receives (plain functions, no transport).

Sales contacts and accounts are kept as local copies (requester lookup by email, account grade for
routing and SLA); identity users as agents (availability, deactivation); privacy requests answered.
Events are handled by their type strings; the queue is bound to exactly the keys of HANDLERS.
"""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from crm_common.entrypoint import Context
from crm_service_desk.domain import agents, privacy
from crm_service_desk.models import AccountCopy, ContactCopy, Ticket

CONTACT_FIELDS = ("account_id", "first_name", "last_name", "email", "phone")
ACCOUNT_FIELDS = ("name", "grade", "country", "industry")


def _copy(session: Session, model, data: dict, names: tuple[str, ...]):
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


def contact_changed(session: Session, envelope: dict, uow) -> None:
    _copy(session, ContactCopy, envelope["data"], CONTACT_FIELDS)


def contact_merged(session: Session, envelope: dict, uow) -> None:
    """The surviving contact is copied; contacts merged into it hand their tickets over."""
    data = envelope["data"]
    survivor = _copy(session, ContactCopy, data, CONTACT_FIELDS)
    merged = [i for i in (data.get("merged_ids") or data.get("merged_contact_ids") or
                          ([data["merged_id"]] if data.get("merged_id") else [])) if i != survivor.id]
    for merged_id in merged:
        loser = session.get(ContactCopy, merged_id)
        if loser is not None:
            loser.merged_into_id = survivor.id
        session.execute(update(Ticket).where(Ticket.contact_id == merged_id)
                        .values(contact_id=survivor.id, version=Ticket.version + 1))


def account_changed(session: Session, envelope: dict, uow) -> None:
    _copy(session, AccountCopy, envelope["data"], ACCOUNT_FIELDS)


def user_changed(session: Session, envelope: dict, uow) -> None:
    agents.upsert(Context(session, uow.caller, uow.emit, None, None, uow), envelope["data"])


def user_deactivated(session: Session, envelope: dict, uow) -> None:
    agents.deactivate(Context(session, uow.caller, uow.emit, None, None, uow), envelope["data"])


# event type -> handler(session, envelope, uow)
HANDLERS: dict = {
    "sales.contact_created.v1": contact_changed,
    "sales.contact_updated.v1": contact_changed,
    "sales.contact_merged.v1": contact_merged,
    "sales.account_created.v1": account_changed,
    "sales.account_updated.v1": account_changed,
    "identity.user_created.v1": user_changed,
    "identity.user_updated.v1": user_changed,
    "identity.user_deactivated.v1": user_deactivated,
    "identity.privacy_requested.v1": lambda session, envelope, uow: privacy.answer(
        Context(session, uow.caller, uow.emit, None, None, uow), envelope["data"]),
}


def dispatch(session: Session, envelope: dict, uow) -> bool:
    """Apply one event; events this service has no use for are skipped. Returns whether it applied."""
    handler = HANDLERS.get(envelope["type"])
    if handler is None:
        return False
    handler(session, envelope, uow)
    return True
