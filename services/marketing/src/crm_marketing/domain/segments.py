"""Segments evaluated over the audience (the smallest version the send needs; the "audience" area owns this
module and its full version, with rules over attributes and behaviour, replaces this one at merge).

`recipients(session, segment_ids) -> Select` of live AudienceMember rows with an address, one per address,
evaluated now. This version knows the rule tree `{"all": []}` (everyone) only."""
from __future__ import annotations

from sqlalchemy import func, select

from crm_marketing.models import AudienceMember, Segment


def recipients(session, segment_ids: list):
    live = (AudienceMember.deleted_at.is_(None), AudienceMember.email.is_not(None))
    first = select(func.min(AudienceMember.id)).where(*live).group_by(AudienceMember.email_hash)
    rules = [s.rules for s in session.execute(select(Segment).where(Segment.id.in_(segment_ids))).scalars()]
    if not rules or any(r not in ({"all": []}, {"any": []}, {}) for r in rules):
        raise NotImplementedError("this minimal segments module evaluates {'all': []} only")
    return select(AudienceMember).where(*live, AudienceMember.id.in_(first))

