"""Templates, segments and campaigns: what is sent, to whom, and what it cost."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_common.db import IdMixin, TimestampMixin
from crm_common.versioning import VersionMixin
from crm_marketing.models.base import Base

MONEY = Numeric(18, 2)


class Segment(IdMixin, TimestampMixin, VersionMixin, Base):
    """A named rule tree over the audience (`{"all"|"any": [rule or tree, ...]}`), evaluated when used."""

    __tablename__ = "segments"

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(1000))
    rules: Mapped[dict] = mapped_column(JSON)
    owner_id: Mapped[str | None] = mapped_column(String(36))
    deleted_at: Mapped[datetime | None] = mapped_column()


class EmailTemplate(IdMixin, TimestampMixin, VersionMixin, Base):
    """Subject, HTML and text parts with placeholders over the recipient (a sandboxed Jinja2 template)."""

    __tablename__ = "email_templates"

    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(500))
    html: Mapped[str] = mapped_column(Text)  # sanitised on save
    text: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[str | None] = mapped_column(String(36))
    deleted_at: Mapped[datetime | None] = mapped_column()


class Campaign(IdMixin, TimestampMixin, VersionMixin, Base):
    """A campaign of any type; an email campaign is sent to its segments with its template or variants.
    `status`: draft, scheduled, sending, sent, cancelled."""

    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_status_scheduled_at", "status", "scheduled_at"),)

    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    budget: Mapped[Decimal | None] = mapped_column(MONEY)
    actual_cost: Mapped[Decimal | None] = mapped_column(MONEY)
    expected_revenue: Mapped[Decimal | None] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    segment_ids: Mapped[list] = mapped_column(JSON, default=list)
    template_id: Mapped[str | None] = mapped_column(String(36))
    from_name: Mapped[str | None] = mapped_column(String(100))
    from_email: Mapped[str | None] = mapped_column(String(254))
    reply_to: Mapped[str | None] = mapped_column(String(254))
    scheduled_at: Mapped[datetime | None] = mapped_column()  # a send at a time
    send_job_id: Mapped[str | None] = mapped_column(String(36))  # the current send (crm_jobs)
    sent_at: Mapped[datetime | None] = mapped_column()
    ab_metric: Mapped[str | None] = mapped_column(String(10))  # opens | clicks: how the winner is picked
    ab_test_share: Mapped[int | None] = mapped_column(Integer)  # percent of the audience in the test
    ab_wait_minutes: Mapped[int | None] = mapped_column(Integer)  # then the winner goes to the rest
    winner_variant_id: Mapped[str | None] = mapped_column(String(36))
    topic: Mapped[str | None] = mapped_column(String(30))  # a content topic: who unsubscribed from it is skipped
    owner_id: Mapped[str | None] = mapped_column(String(36))
    deleted_at: Mapped[datetime | None] = mapped_column()


class CampaignVariant(IdMixin, Base):
    """One A/B variant of an email campaign: a template and its share of the test audience (percent)."""

    __tablename__ = "campaign_variants"
    __table_args__ = (Index("ix_campaign_variants_campaign_id", "campaign_id"),)

    campaign_id: Mapped[str] = mapped_column(String(36))
    label: Mapped[str] = mapped_column(String(10))  # A, B, C...
    template_id: Mapped[str] = mapped_column(String(36))
    share: Mapped[int] = mapped_column(Integer)
    is_winner: Mapped[bool] = mapped_column(Boolean, default=False)
