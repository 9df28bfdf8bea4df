"""The send log and what recipients did with each message.

A message row is written (status `pending`) before its SMTP handoff and is unique per campaign and address,
so a resumed or overlapping send never mails anyone the same campaign twice."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from crm_common.db import IdMixin, utcnow
from crm_marketing.models.base import Base

REAL = text("is_test = false")


class Message(IdMixin, Base):
    """One message of a campaign to one address. `status`: pending (claimed, not yet handed to SMTP), sent,
    failed (SMTP refused it: `bounce` says hard or soft), skipped (no consent or suppressed at send time:
    `skip_reason`), bounced (a DSN arrived later), complained."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ux_messages_campaign_recipient", "campaign_id", "email_hash", unique=True,
              sqlite_where=REAL, postgresql_where=REAL),
        Index("ix_messages_job_status", "job_id", "status"),
        Index("ix_messages_campaign_variant", "campaign_id", "variant_id", "status"),
        Index("ix_messages_email_hash", "email_hash"),
        Index("ix_messages_smtp_message_id", "smtp_message_id"),
    )

    campaign_id: Mapped[str] = mapped_column(String(36))
    variant_id: Mapped[str | None] = mapped_column(String(36))
    job_id: Mapped[str | None] = mapped_column(String(36))
    member_id: Mapped[str | None] = mapped_column(String(36))
    email: Mapped[str | None] = mapped_column(String(254))  # None once erased
    email_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    skip_reason: Mapped[str | None] = mapped_column(String(30))
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    smtp_message_id: Mapped[str | None] = mapped_column(String(255))  # the Message-ID header
    smtp_code: Mapped[int | None] = mapped_column(Integer)
    smtp_response: Mapped[str | None] = mapped_column(String(500))
    bounce: Mapped[str | None] = mapped_column(String(4))  # hard | soft
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    bounced_at: Mapped[datetime | None] = mapped_column()
    links: Mapped[list | None] = mapped_column(JSON)  # the original URLs, by the index a click token carries


class TrackingHit(IdMixin, Base):
    """An open, click or unsubscribe of one message. `machine` marks hits of image proxies and link
    scanners: kept, counted apart from people's."""

    __tablename__ = "tracking_hits"
    __table_args__ = (
        Index("ix_tracking_hits_campaign_kind", "campaign_id", "kind", "machine"),
        Index("ix_tracking_hits_message_kind", "message_id", "kind"),
    )

    message_id: Mapped[str] = mapped_column(String(36))
    campaign_id: Mapped[str] = mapped_column(String(36))
    variant_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(12))  # open | click | unsubscribe
    link_index: Mapped[int | None] = mapped_column(Integer)
    url: Mapped[str | None] = mapped_column(String(2000))
    machine: Mapped[bool] = mapped_column(Boolean, default=False)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
