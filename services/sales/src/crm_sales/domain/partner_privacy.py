"""The subscriptions' and partners' part of a privacy request: the content a person subscribed to (through their
contact records) and a partner's contact address; erasure unsubscribes the person from all content (announced, so
marketing stops too) and clears the partner's address."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

import crm_sales_contracts as c
from crm_sales.domain import records
from crm_sales.models import ContentSubscription, Partner

if TYPE_CHECKING:
    from crm_common.entrypoint import Context


def _content(session, contact_ids: list[str]) -> list[ContentSubscription]:
    if not contact_ids:
        return []
    return session.execute(select(ContentSubscription).where(ContentSubscription.contact_id.in_(contact_ids))
                           .order_by(ContentSubscription.created_at)).scalars().all()


def _partners(session, email: str) -> list[Partner]:
    email = (email or "").strip().lower()
    if not email:
        return []
    return session.execute(select(Partner).where(Partner.email == email)).scalars().all()


def export(session, email: str, contact_ids: list[str]) -> dict:
    """The sections that found something (none at all for a person who subscribed to nothing)."""
    found = {
        "content_subscriptions": [{"id": x.id, "contact_id": x.contact_id, "topic": x.topic,
                                   "product_id": x.product_id, "subscribed": x.subscribed}
                                  for x in _content(session, contact_ids)],
        "partners": [{"id": p.id, "name": p.name, "email": p.email} for p in _partners(session, email)],
    }
    return {name: items for name, items in found.items() if items}


def erase(ctx: Context, email: str, contact_ids: list[str]) -> dict:
    entries = _content(ctx.session, contact_ids)
    for entry in entries:
        if entry.subscribed:
            entry.subscribed = False
            ctx.session.flush()
            ctx.emit(c.CONTENT_SUBSCRIPTION_CHANGED, {"id": entry.id, "contact_id": entry.contact_id, "email": None,
                                                      "topic": entry.topic, "product_id": entry.product_id,
                                                      "subscribed": False})
    found = _partners(ctx.session, email)
    for partner in found:
        partner.email = None
        records.changed(ctx, "partner", partner.id, "update", ["email"])
    ctx.session.flush()
    counts = {"content_subscriptions": len(entries), "partners": len(found)}
    return {name: count for name, count in counts.items() if count}
