"""The audience: marketing's copy of sales' leads (fed by sales' lead events, never read from sales).

The least the scoring area needs (the audience area owns this module: its version replaces this one at
merge, keeping the call of `scoring.rescore(ctx, member.id)` after a lead's upsert in its handler)."""
from __future__ import annotations

from sqlalchemy import select

import crm_marketing_contracts as c
from crm_marketing.domain.suppressions import email_hash
from crm_marketing.models import AudienceMember

LEAD_FIELDS = ("first_name", "last_name", "company", "country", "industry", "owner_id", "campaign_id")


def upsert_lead(ctx, data: dict) -> AudienceMember:
    """The lead's audience member, created or brought up to date from a sales lead event's data."""
    member = ctx.session.execute(select(AudienceMember).where(
        AudienceMember.kind == "lead", AudienceMember.source_id == data["id"])).scalar_one_or_none()
    if member is None:
        member = AudienceMember(kind="lead", source_id=data["id"], score=0, tags=[])
        ctx.session.add(member)
    for name in LEAD_FIELDS:
        if name in data:
            setattr(member, name, data[name])
    if "status" in data:
        member.lead_status = data["status"]
    if "email" in data:
        member.email = c.normalise_email_leniently(data["email"]) if data["email"] else None
        member.email_hash = email_hash(member.email) if member.email else None
    ctx.session.flush()
    return member
