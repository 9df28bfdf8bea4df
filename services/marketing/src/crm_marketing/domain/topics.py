"""The content topics contacts are subscribed to, kept from sales' `content_subscription_changed` events, and
their part of a privacy request (domain.privacy.PARTS).

- One AudienceTopic per (contact, topic, product); an event sets `subscribed` and the address hash.
- An event older than the change already recorded (events may arrive out of order) changes nothing.
- Segments read it with the topic rule (domain.segment_rules): a contact member whose source_id subscribed.
- The unsubscribe link of a topic campaign's message ends the address's subscriptions to that topic (`leave`);
  a lead, who has no contact in sales, gets a row by its address alone (contact_id NULL).
"""
from __future__ import annotations

from sqlalchemy import or_, select

import crm_marketing_contracts as c
from crm_marketing.domain.audience import occurred
from crm_marketing.domain.suppressions import email_hash
from crm_marketing.models import AudienceMember, AudienceTopic


def _hash(address) -> str | None:
    if not isinstance(address, str) or not address.strip():
        return None
    return email_hash(c.normalise_email_leniently(address))


def changed(session, data: dict, envelope: dict) -> AudienceTopic | None:
    """Record a subscription (or its end); a topic marketing does not know is ignored."""
    if data["topic"] not in c.TOPICS:
        return None
    product_id, when = data.get("product_id"), occurred(envelope)
    found = session.execute(select(AudienceTopic).where(
        AudienceTopic.contact_id == data["contact_id"], AudienceTopic.topic == data["topic"],
        AudienceTopic.product_id.is_(None) if product_id is None else AudienceTopic.product_id == product_id,
    )).scalars().first()
    if found is None:
        found = AudienceTopic(contact_id=data["contact_id"], topic=data["topic"], product_id=product_id,
                              changed_at=when)
        session.add(found)
    elif found.changed_at is not None and _naive(found.changed_at) > _naive(when):
        return found  # a newer change is recorded already
    found.subscribed, found.changed_at = bool(data["subscribed"]), when
    if "email" in data:
        found.email_hash = _hash(data["email"])
    session.flush()
    return found


def leave(session, digest: str, contact_id: str | None, topic: str, when) -> None:
    """The address (hash `digest`) leaves `topic` with the unsubscribe link of a topic campaign's message: every
    subscription to it found by the address, or by the sales contacts of that address (and `contact_id`, the
    message's member when a contact), ends now; when there is none, one row records the choice (by the address,
    and the contact when known). A later subscription in sales (a newer change) brings the address back."""
    contacts = select(AudienceMember.source_id).where(AudienceMember.kind == "contact",
                                                      AudienceMember.email_hash == digest)
    found = list(session.execute(select(AudienceTopic).where(AudienceTopic.topic == topic, or_(
        AudienceTopic.email_hash == digest, AudienceTopic.contact_id.in_(contacts),
        *([AudienceTopic.contact_id == contact_id] if contact_id else [])))).scalars())
    if not found:
        found = [AudienceTopic(contact_id=contact_id, email_hash=digest, topic=topic, product_id=None)]
        session.add(found[0])
    for row in found:
        row.subscribed, row.changed_at = False, when
    session.flush()


def _naive(moment):
    return moment.replace(tzinfo=None) if moment.tzinfo is not None else moment


# -- privacy (domain.privacy.PARTS) ---------------------------------------------------------------------

def _of_person(session, address: str) -> list[AudienceTopic]:
    digest = _hash(address)
    rows = select(AudienceTopic).where(AudienceTopic.email_hash == digest).order_by(AudienceTopic.created_at)
    return list(session.execute(rows).scalars()) if digest else []


def export(ctx, address: str) -> tuple[dict, dict]:
    """The topics the address was (or is) subscribed to."""
    found = [{"topic": t.topic, "product_id": t.product_id, "subscribed": t.subscribed} for t in
             _of_person(ctx.session, address)]
    return ({"audience_topics": found}, {"audience_topics": len(found)}) if found else ({}, {})


def erase(ctx, address: str) -> dict:
    """Forget the address's topics (a later sales event about the contact may record them again)."""
    found = _of_person(ctx.session, address)
    for row in found:
        ctx.session.delete(row)
    ctx.session.flush()
    return {"audience_topics": len(found)} if found else {}
