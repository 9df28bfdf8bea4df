"""Consent per address and channel (the least the public routes need: record one, find one).

NOTE for the merge: the consents area (helper "audience") owns this module; its `record` replaces this
one. What the public routes call, with the consents area's signature: `record(ctx, email, channel, status,
source, ip=..., text_version=..., contact_id=..., lead_id=..., captured_at=...) -> Consent`.
"""
from __future__ import annotations

from sqlalchemy import select

import crm_marketing_contracts as c
from crm_common.db import utcnow
from crm_marketing.domain.suppressions import email_hash
from crm_marketing.models import Consent

STATUSES = ("opted_in", "opted_out", "pending")


def of_address(session, email: str, channel: str = "email") -> Consent | None:
    return session.execute(select(Consent).where(Consent.email_hash == email_hash(email),
                                                 Consent.channel == channel)).scalar_one_or_none()


def record(ctx, email: str, channel: str, status: str, source: str, ip: str | None = None,
           text_version: str | None = None, contact_id: str | None = None, lead_id: str | None = None,
           captured_at=None) -> Consent:
    """The address's consent on the channel becomes `status` (one row per address and channel, its
    history in marketing.consent_changed.v1); captured now, with where it came from."""
    if status not in STATUSES:
        raise ValueError(f"unknown consent status {status!r}")
    consent = of_address(ctx.session, email, channel)
    previous = consent.status if consent is not None else None
    if consent is None:
        consent = Consent(email=email, email_hash=email_hash(email), channel=channel, status=status,
                          created_by=ctx.caller.user_id)
        ctx.session.add(consent)
    consent.email = email
    consent.status, consent.source, consent.captured_at, consent.ip = status, source, captured_at or utcnow(), ip
    consent.text_version = text_version if text_version is not None else consent.text_version
    consent.contact_id = contact_id or consent.contact_id
    consent.lead_id = lead_id or consent.lead_id
    if status != "pending":
        consent.confirm_token_hash = None
    if status == "opted_in" and previous == "pending":
        consent.confirmed_at = consent.captured_at
    ctx.session.flush()
    if previous != status:
        ctx.emit(c.CONSENT_CHANGED, {"id": consent.id, "channel": channel, "status": status,
                                     "previous_status": previous, "source": source})
    return consent
