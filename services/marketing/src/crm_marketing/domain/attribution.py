"""Which leads and opportunities sales attributes to a campaign, kept from sales' events (never read from
sales' tables): `sales.lead_created/updated.v1` and `sales.opportunity_created/updated/won/lost.v1` carry the
record's `campaign_id` (and an opportunity's amount, currency and stage). Each record has one row, set from
the newest event seen: an older event arriving later (a retry) changes nothing."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from crm_marketing.models import Attribution

WON, LOST = "closed_won", "closed_lost"


def _when(envelope: dict) -> datetime:
    text = envelope.get("occurred_at")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
    except (AttributeError, ValueError):
        return datetime.now(timezone.utc)


def _row(session, kind: str, record_id: str) -> Attribution | None:
    return session.execute(select(Attribution).where(Attribution.kind == kind, Attribution.record_id == record_id)
                           ).scalar_one_or_none()


def _apply(session, kind: str, data: dict, envelope: dict, **values) -> Attribution | None:
    when = _when(envelope)
    row = _row(session, kind, data["id"])
    if row is None:
        if not data.get("campaign_id"):
            return None  # never attributed: nothing to keep
        row = Attribution(kind=kind, record_id=data["id"], as_of=when)
        session.add(row)
    elif row.as_of is not None and row.as_of > when:
        return row  # a newer event already set it
    row.campaign_id, row.as_of = data.get("campaign_id") or None, when
    for name, value in values.items():
        setattr(row, name, value)
    session.flush()
    return row


def lead(ctx, data: dict, envelope: dict) -> None:
    """A lead created or updated: attributed to its campaign_id (none: no longer attributed)."""
    _apply(ctx.session, "lead", data, envelope)


def opportunity(ctx, data: dict, envelope: dict) -> None:
    """An opportunity created, updated, won or lost: its campaign, amount, currency and outcome."""
    stage = data.get("stage")
    event_type = envelope.get("type") or ""
    won = stage == WON or (event_type.startswith("sales.opportunity_won.") and stage in (None, WON))
    lost = stage == LOST or (event_type.startswith("sales.opportunity_lost.") and stage in (None, LOST))
    _apply(ctx.session, "opportunity", data, envelope, amount=_amount(data.get("amount")),
           currency=data.get("currency"), stage=stage, won=won, lost=lost)


def _amount(value) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None
