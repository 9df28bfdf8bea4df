"""The audience: marketing's own copy of sales' leads, contacts and accounts, kept from sales' events (never
read from sales' tables), and the behaviour other services report (orders, tickets, surveys).

- A lead or contact is one AudienceMember, keyed by (kind, source_id). Only the fields an event carries change.
- An account is one AudienceAccount; its name (as `company`), country, industry, grade and lifecycle stage are
  copied onto its contacts, whichever of the account and the contact arrives first, also when both arrive at
  once in two transactions (each holds the account's key until it commits, so the second sees the first).
- A converted lead leaves the audience (deleted_at) and its contact joins with the lead's behaviour; a
  merged-away contact leaves and its behaviour moves to the survivor; a contact of a merged-away account moves
  to the surviving account. An update never brings a member back.
- Behaviour belongs to the member it is linked to: an activity of an address no member has yet is linked when
  a member with that address arrives, also when both arrive at once (each holds the address until it commits).
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update

import crm_marketing_contracts as c
from crm_common.db import serialize_on, utcnow
from crm_common.envelope import rfc3339
from crm_marketing.domain import activity
from crm_marketing.domain.suppressions import email_hash
from crm_marketing.models import AudienceAccount, AudienceActivity, AudienceMember

LEAD_FIELDS = {"first_name": "first_name", "last_name": "last_name", "company": "company", "title": "title",
               "phone": "phone", "country": "country", "industry": "industry", "status": "lead_status",
               "owner_id": "owner_id", "campaign_id": "campaign_id", "score": "score", "tags": "tags"}
CONTACT_FIELDS = {"first_name": "first_name", "last_name": "last_name", "title": "title", "phone": "phone",
                  "owner_id": "owner_id", "account_id": "account_id", "tags": "tags"}
ACCOUNT_FIELDS = ("name", "country", "industry", "grade", "lifecycle_stage")
COPIED = {"company": "name", "country": "country", "industry": "industry", "grade": "grade",
          "lifecycle_stage": "lifecycle_stage"}  # member field <- account field
EVENT_IDS = uuid.UUID("6f0b8a52-1f0e-4c55-9d87-0c1f4f3b7a10")  # names the rows one event makes (uuid5)


def _member(session, kind: str, source_id: str) -> AudienceMember | None:
    return session.execute(select(AudienceMember).where(AudienceMember.kind == kind,
                                                        AudienceMember.source_id == source_id)).scalar_one_or_none()


def _clip(value, length: int):
    return value[:length] if isinstance(value, str) else value


def _set_email(session, member: AudienceMember, raw) -> None:
    address = c.normalise_email_leniently(raw) if isinstance(raw, str) and raw.strip() else None
    if address == member.email:
        return
    member.email, member.email_hash = _clip(address, 254), (email_hash(address) if address else None)
    if member.email_hash:
        serialize_on(session, activity.address_key(member.email_hash))
        session.flush()
        session.execute(update(AudienceActivity).where(AudienceActivity.email_hash == member.email_hash,
                                                       AudienceActivity.member_id.is_(None))
                        .values(member_id=member.id))


def _apply(member: AudienceMember, data: dict, names: dict) -> None:
    for source, target in names.items():
        if source in data:
            value = data[source]
            if target == "score":
                value = value or 0
            elif target == "tags":  # sales' tags, as segments and scoring rules read them
                value = sorted({t for t in value or [] if isinstance(t, str)})
            elif target == "country" and isinstance(value, str):
                value = value.upper()[:2]
            setattr(member, target, _clip(value, AudienceMember.__table__.c[target].type.length or 10**6)
                    if isinstance(value, str) else value)


def _upsert(session, kind: str, data: dict, names: dict, member: AudienceMember | None) -> AudienceMember:
    """The member of `data` (`member`: as read, None when absent) made or changed with the fields it carries."""
    if member is None:
        member = AudienceMember(kind=kind, source_id=data["id"], tags=[], score=0)
        session.add(member)
        session.flush()
    _apply(member, data, names)
    if "email" in data:
        _set_email(session, member, data["email"])
    return member


# -- leads ------------------------------------------------------------------------------------------------

def lead_changed(session, data: dict) -> AudienceMember:
    """sales.lead_created / lead_updated (and each lead of sales.leads_imported)."""
    return _upsert(session, "lead", data, LEAD_FIELDS, _member(session, "lead", data["id"]))


def lead_assigned(session, data: dict) -> None:
    member = _member(session, "lead", data["id"])
    if member is not None:
        member.owner_id = data.get("owner_id")


def lead_converted(session, data: dict) -> None:
    """The lead leaves the audience; its contact joins (now, or later with its own event) with the lead's
    address, campaign and behaviour."""
    lead = _member(session, "lead", data["id"])
    contact = _member(session, "contact", data["contact_id"])
    _hold_accounts(session, data.get("account_id"), contact)
    if contact is None:
        contact = AudienceMember(kind="contact", source_id=data["contact_id"], tags=[], score=0)
        session.add(contact)
        if lead is not None:
            for name in ("first_name", "last_name", "title", "phone"):
                setattr(contact, name, getattr(lead, name))
            contact.email, contact.email_hash = lead.email, lead.email_hash
        session.flush()
    contact.account_id = contact.account_id or data.get("account_id")
    _copy_account(session, contact)
    if lead is None:
        return
    contact.campaign_id = contact.campaign_id or lead.campaign_id
    contact.score = max(contact.score or 0, lead.score or 0)
    contact.tags = sorted(set(contact.tags or []) | set(lead.tags or []))
    lead.deleted_at = lead.deleted_at or utcnow()
    _move_activity(session, [lead.id], contact.id)


def _move_activity(session, from_ids: list[str], to_id: str) -> None:
    if from_ids:
        session.execute(update(AudienceActivity).where(AudienceActivity.member_id.in_(from_ids))
                        .values(member_id=to_id))


def removed(session, kind: str, source_id: str) -> None:
    """A lead or contact deleted in sales (sales.record_changed.v1, action delete) leaves the audience."""
    member = _member(session, kind, source_id)
    if member is not None and member.deleted_at is None:
        member.deleted_at = utcnow()


# -- contacts and accounts -----------------------------------------------------------------------------

def contact_changed(session, data: dict) -> AudienceMember:
    """sales.contact_created / contact_updated / contact_merged (merged_ids leave, their behaviour moves)."""
    member = _member(session, "contact", data["id"])
    _hold_accounts(session, data.get("account_id"), member)
    member = _upsert(session, "contact", data, CONTACT_FIELDS, member)
    _copy_account(session, member)
    merged = [m for m in (_member(session, "contact", i) for i in data.get("merged_ids") or []) if m is not None]
    for other in merged:
        other.deleted_at = other.deleted_at or utcnow()
    _move_activity(session, [m.id for m in merged], member.id)
    return member


def _account_key(account_id: str) -> str:
    return f"audience-account:{account_id}"


def _hold_accounts(session, account_id: str | None, contact: AudienceMember | None) -> None:
    """Take the keys of a contact's accounts (the one the event names, the one `contact`, as read, has) before its
    row is written: `account_changed` takes its key, then writes its contacts' rows, and the other order deadlocks."""
    for key in sorted({a for a in (account_id, contact.account_id if contact is not None else None) if a}):
        serialize_on(session, _account_key(key))


def _copy_account(session, member: AudienceMember) -> None:
    if not member.account_id:
        return
    serialize_on(session, _account_key(member.account_id))
    account = session.get(AudienceAccount, member.account_id)
    if account is not None:
        for target, source in COPIED.items():
            setattr(member, target, getattr(account, source))


def account_changed(session, data: dict) -> AudienceAccount:
    """sales.account_created / account_updated / account_merged: keep the copy, copy it onto its contacts; the
    contacts (and orders) of merged-away accounts move to the survivor."""
    serialize_on(session, _account_key(data["id"]))
    account = session.get(AudienceAccount, data["id"])
    if account is None:
        account = AudienceAccount(id=data["id"])
        session.add(account)
    for name in ACCOUNT_FIELDS:
        if name in data:
            value = data[name]
            setattr(account, name, value.upper()[:2] if name == "country" and isinstance(value, str) else value)
    merged = list(data.get("merged_ids") or [])
    session.flush()
    for other_id in merged:
        other = session.get(AudienceAccount, other_id)
        if other is not None:
            other.merged_into_id = account.id
    if merged:
        session.execute(update(AudienceMember).where(AudienceMember.account_id.in_(merged))
                        .values(account_id=account.id))
        session.execute(update(AudienceActivity).where(AudienceActivity.account_id.in_(merged))
                        .values(account_id=account.id))
    session.execute(update(AudienceMember).where(AudienceMember.account_id == account.id, AudienceMember.kind == "contact")
                    .values(**{target: getattr(account, source) for target, source in COPIED.items()}))
    return account


# -- behaviour from other services ---------------------------------------------------------------------

def occurred(envelope: dict) -> datetime:
    value = envelope.get("occurred_at")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else utcnow()
    except ValueError:
        return utcnow()


def _row_id(envelope: dict, part: str | None = None) -> str:
    event_id = str(envelope.get("event_id") or uuid.uuid4())
    return event_id if part is None else str(uuid.uuid5(EVENT_IDS, f"{event_id}:{part}"))


def order_placed(session, data: dict, envelope: dict) -> int:
    """One `order_placed` activity per product of the order (ref_id the product; one without a product when
    the event names none), on the account: its contacts bought."""
    detail = {"order_id": data["id"], "total": data.get("total"), "currency": data.get("currency")}
    products = sorted({p for p in data.get("product_ids") or [] if p})
    for product in products or [None]:
        activity.record(session, "order_placed", account_id=data.get("account_id"), ref_id=product,
                        detail=detail, occurred_at=occurred(envelope),
                        source_event_id=_row_id(envelope, product) if product else _row_id(envelope))
    return len(products) or 1


def person(session, contact_id: str | None, address: str | None) -> tuple[str | None, str | None]:
    """(member id, email hash) of a ticket's or survey's person: the contact's member, else by address."""
    member = _member(session, "contact", contact_id) if contact_id else None
    if member is not None and member.deleted_at is None:
        return member.id, member.email_hash
    digest = email_hash(c.normalise_email_leniently(address)) if isinstance(address, str) and address.strip() else None
    return None, digest


def ticket(session, kind: str, data: dict, envelope: dict) -> None:
    """ticket_opened (also for a reopened ticket) or ticket_solved (also for a closed one: `detail.status`)."""
    member_id, digest = person(session, data.get("contact_id"), data.get("requester_email"))
    activity.record(session, kind, member_id=member_id, email_hash=digest, account_id=data.get("account_id"),
                    ref_id=data["id"], detail={"number": data.get("number"), "status": data.get("status")},
                    occurred_at=occurred(envelope), source_event_id=_row_id(envelope))


def survey_answered(session, data: dict, envelope: dict) -> None:
    member_id, digest = person(session, data.get("contact_id"), None)
    activity.record(session, "survey_answered", member_id=member_id, email_hash=digest,
                    ref_id=data.get("ticket_id") or data.get("survey_id"),
                    detail={"score": data["score"], "kind": data.get("kind"), "survey_id": data.get("survey_id")},
                    occurred_at=occurred(envelope), source_event_id=_row_id(envelope))


# -- privacy (domain.privacy.PARTS) ---------------------------------------------------------------------

def _of_person(session, address: str) -> tuple[list[AudienceMember], list[AudienceActivity]]:
    digest = email_hash(c.normalise_email_leniently(address))
    found = list(session.execute(select(AudienceMember).where(AudienceMember.email_hash == digest)).scalars())
    ids = [m.id for m in found]
    done = select(AudienceActivity).where((AudienceActivity.email_hash == digest) | AudienceActivity.member_id.in_(ids))
    return found, list(session.execute(done.order_by(AudienceActivity.occurred_at)).scalars())


def export(ctx, address: str) -> tuple[dict, dict]:
    """The audience members of an address (leads and contacts as marketing copied them) and what they did."""
    found, done = _of_person(ctx.session, address)
    members = [c.Member().dump(m) for m in found]
    actions = [{"kind": a.kind, "ref_id": a.ref_id, "detail": a.detail, "occurred_at": rfc3339(a.occurred_at)}
               for a in done]
    found = {"audience_members": members, "audience_activity": actions}
    return {k: v for k, v in found.items() if v}, {k: len(v) for k, v in found.items() if v}  # what it held


def erase(ctx, address: str) -> dict:
    """Forget an address in the audience: its members lose every personal field and leave (a later sales event
    never brings them back), its activity is deleted."""
    found, done = _of_person(ctx.session, address)
    for member in found:
        for name in ("email", "email_hash", "first_name", "last_name", "title", "phone", "company"):
            setattr(member, name, None)
        member.tags, member.deleted_at = [], member.deleted_at or utcnow()
    for row in done:
        ctx.session.delete(row)
    ctx.session.flush()
    return {k: v for k, v in (("audience_members", len(found)), ("audience_activity", len(done))) if v}
