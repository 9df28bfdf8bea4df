"""The audience: marketing's own copy of sales' leads and contacts (fed by sales events, never read from
sales' tables) and what each person did (opened, clicked, submitted a form, ordered, opened a ticket)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_common.db import IdMixin, TimestampMixin, utcnow
from crm_marketing.models.base import LIVE, Base


class AudienceMember(IdMixin, TimestampMixin, Base):
    """One lead or contact as marketing knows it: `kind` and `source_id` name the sales record; the
    attributes segments filter on are copied here (the account's onto its contacts)."""

    __tablename__ = "audience_members"
    __table_args__ = (
        UniqueConstraint("kind", "source_id", name="ux_audience_members_source"),
        Index("ix_audience_members_email_hash", "email_hash"),
        Index("ix_audience_members_account_id", "account_id"),
        # segments' attribute rules over the live members (the benchmark's country and grade rules)
        Index("ix_audience_members_live_country_grade", "country", "grade", sqlite_where=LIVE, postgresql_where=LIVE),
    )

    kind: Mapped[str] = mapped_column(String(10))  # lead | contact
    source_id: Mapped[str] = mapped_column(String(36))  # the lead's or contact's id in sales
    email: Mapped[str | None] = mapped_column(String(254))  # trimmed, lower-cased
    email_hash: Mapped[str | None] = mapped_column(String(64))  # SHA-256 hex of the address
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    company: Mapped[str | None] = mapped_column(String(200))  # a lead's company, a contact's account name
    title: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    account_id: Mapped[str | None] = mapped_column(String(36))
    country: Mapped[str | None] = mapped_column(String(2))
    industry: Mapped[str | None] = mapped_column(String(100))
    grade: Mapped[str | None] = mapped_column(String(1))  # the account's A/B/C
    lifecycle_stage: Mapped[str | None] = mapped_column(String(30))
    lead_status: Mapped[str | None] = mapped_column(String(20))
    score: Mapped[int] = mapped_column(Integer, default=0)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    owner_id: Mapped[str | None] = mapped_column(String(36))
    campaign_id: Mapped[str | None] = mapped_column(String(36))  # the campaign a lead came from
    deleted_at: Mapped[datetime | None] = mapped_column()  # converted, merged away or erased: not mailed


class AudienceActivity(IdMixin, Base):
    """Something a person did that segments and scoring read: `kind` is email_sent, email_opened,
    email_clicked, unsubscribed, bounced, form_submitted, order_placed, ticket_opened, ticket_solved,
    survey_answered...; `ref_id` what it was about (a campaign, form, product, ticket)."""

    __tablename__ = "audience_activity"
    __table_args__ = (
        Index("ix_audience_activity_member", "member_id", "kind", "occurred_at"),
        Index("ix_audience_activity_kind_ref", "kind", "ref_id", "occurred_at"),
        Index("ix_audience_activity_email_hash", "email_hash"),
        Index("ix_audience_activity_account", "account_id", "kind"),
        # a behaviour window without a reference ("opened any email in 60 days"): an index-only scan
        Index("ix_audience_activity_kind_time", "kind", "occurred_at", "member_id"),
    )

    member_id: Mapped[str | None] = mapped_column(String(36))
    email_hash: Mapped[str | None] = mapped_column(String(64))
    account_id: Mapped[str | None] = mapped_column(String(36))  # orders and tickets are an account's
    kind: Mapped[str] = mapped_column(String(30))
    ref_id: Mapped[str | None] = mapped_column(String(36))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)  # e.g. {"product_ids": [...]}, {"score": 4}
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    source_event_id: Mapped[str | None] = mapped_column(String(36), unique=True)  # the event it came from


class AudienceAccount(IdMixin, TimestampMixin, Base):
    """Marketing's copy of a sales account (`id` is the account's id in sales): what is copied onto its
    contacts (name as company, country, industry, grade, lifecycle_stage) when a contact arrives first or
    the account changes. `merged_into_id` names the survivor of a merge."""

    __tablename__ = "audience_accounts"

    name: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    industry: Mapped[str | None] = mapped_column(String(100))
    grade: Mapped[str | None] = mapped_column(String(1))
    lifecycle_stage: Mapped[str | None] = mapped_column(String(30))
    merged_into_id: Mapped[str | None] = mapped_column(String(36))
