"""Attribution: the leads and opportunities sales attributes to a campaign (their `campaign_id`), kept from
sales' events so a campaign's stats need no call to sales."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_common.db import IdMixin, utcnow
from crm_marketing.models.base import Base


class Attribution(IdMixin, Base):
    """One lead or opportunity of sales as the campaign's stats count it: `kind` lead | opportunity,
    `record_id` its id in sales; an opportunity's amount, currency and whether it is won or lost. `as_of` is
    the time of the event it was last set from (an older event arriving later changes nothing)."""

    __tablename__ = "attributions"
    __table_args__ = (
        UniqueConstraint("kind", "record_id", name="ux_attributions_record"),
        Index("ix_attributions_campaign", "campaign_id", "kind"),
    )

    campaign_id: Mapped[str | None] = mapped_column(String(36))  # None: no longer attributed to one
    kind: Mapped[str] = mapped_column(String(12))
    record_id: Mapped[str] = mapped_column(String(36))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    stage: Mapped[str | None] = mapped_column(String(50))
    won: Mapped[bool] = mapped_column(Boolean, default=False)
    lost: Mapped[bool] = mapped_column(Boolean, default=False)
    as_of: Mapped[datetime] = mapped_column(default=utcnow)
