"""Social mentions: posts a connector found about the company, their sentiment, and what was done."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_common.db import IdMixin, TimestampMixin
from crm_common.versioning import VersionMixin
from crm_marketing.models.base import Base


class SocialMention(IdMixin, TimestampMixin, VersionMixin, Base):
    """One post on a social network, once per (network, external_id). `status`: new, replied, ticket,
    ignored; `replies` the replies recorded (each sent on to the connector as an event); `ticket_id` the
    service desk ticket opened from it. The author is known by handle only (no address is stored)."""

    __tablename__ = "social_mentions"
    __table_args__ = (
        UniqueConstraint("network", "external_id", name="ux_social_mentions_external"),
        Index("ix_social_mentions_status", "status", "created_at"),
        Index("ix_social_mentions_created_at", "created_at"),
    )

    network: Mapped[str] = mapped_column(String(30))
    external_id: Mapped[str] = mapped_column(String(200))
    author_handle: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2000))
    posted_at: Mapped[datetime] = mapped_column()
    sentiment: Mapped[float] = mapped_column(Float, default=0.0)  # -1..1
    sentiment_label: Mapped[str] = mapped_column(String(10))  # positive | neutral | negative
    status: Mapped[str] = mapped_column(String(10), default="new")
    replies: Mapped[list] = mapped_column(JSON, default=list)  # [{text, replied_at, replied_by}]
    ticket_id: Mapped[str | None] = mapped_column(String(36))
    ingested_by: Mapped[str | None] = mapped_column(String(36))  # the connector's API key or user
    handled_by: Mapped[str | None] = mapped_column(String(36))  # who last replied, opened a ticket, ignored
