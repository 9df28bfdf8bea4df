"""Lead distribution to partners: new leads not yet given to a partner go to the active partners of their territory
(the lead keeps its internal owner, who follows the channel), highest tier first, and among a tier to the partner with the fewest open leads (then the oldest partner). Partner users see the
leads given to their partner."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

import crm_sales_contracts as c
from crm_sales.domain import partners
from crm_sales.models import Lead, Partner

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

TIER_RANK = {tier: rank for rank, tier in enumerate(c.TIERS)}
OPEN = ("new", "contacted", "qualified")


def leads(ctx: Context, record_id: str) -> dict:
    partner = partners.load(ctx, record_id)
    rows = ctx.session.execute(select(Lead).where(Lead.partner_id == partner.id, Lead.deleted_at.is_(None))
                               .order_by(Lead.created_at.desc(), Lead.id).limit(200)).scalars().all()
    return {"items": rows, "next_cursor": None}


def distribute(ctx: Context, data: dict) -> dict:
    session = ctx.session
    pool = session.execute(select(Partner).where(Partner.active.is_(True), Partner.deleted_at.is_(None),
                                                 Partner.territory_id.is_not(None))).scalars().all()
    by_territory: dict = {}
    for partner in pool:
        by_territory.setdefault(partner.territory_id, []).append(partner)
    if not by_territory:
        return {"assigned": 0, "items": []}
    load = dict(session.execute(select(Lead.partner_id, func.count()).where(
        Lead.partner_id.in_([p.id for p in pool]), Lead.status.in_(OPEN), Lead.deleted_at.is_(None))
        .group_by(Lead.partner_id)).all())
    territories = [t for t in by_territory if not data.get("territory_id") or t == data["territory_id"]]
    query = (select(Lead).where(Lead.partner_id.is_(None), Lead.status == "new",
                                Lead.deleted_at.is_(None), Lead.territory_id.in_(territories))
             .order_by(Lead.created_at, Lead.id).limit(data.get("limit") or 100))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    items = []
    for lead in session.execute(query).scalars().all():
        candidates = by_territory[lead.territory_id]
        chosen = min(candidates, key=lambda p: (-TIER_RANK.get(p.tier, 0), load.get(p.id, 0), p.created_at, p.id))
        lead.partner_id = chosen.id
        load[chosen.id] = load.get(chosen.id, 0) + 1
        ctx.emit(c.LEAD_DISTRIBUTED, {"id": lead.id, "partner_id": chosen.id})
        items.append({"lead_id": lead.id, "partner_id": chosen.id})
    session.flush()
    return {"assigned": len(items), "items": items}
