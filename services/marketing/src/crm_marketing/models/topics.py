"""The content topics each contact is subscribed to (newsletter, product updates...): marketing's copy of
sales' content subscriptions, kept from `sales.content_subscription_changed.v1` (domain.topics)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_common.db import IdMixin, TimestampMixin
from crm_marketing.models.base import Base


class AudienceTopic(IdMixin, TimestampMixin, Base):
    """One contact's subscription to one topic (and product, for product updates): `contact_id` is the
    contact's id in sales (an AudienceMember of kind contact has it as source_id); `changed_at` is when sales
    made the change, so an older event arriving late does not undo a newer one. The unsubscribe link of a topic
campaign's message ends subscriptions here too (domain.topics.leave)."""

    __tablename__ = "audience_topics"
    __table_args__ = (
        Index("ix_audience_topics_contact", "contact_id", "topic"),
        Index("ix_audience_topics_email_hash", "email_hash"),
    )

    contact_id: Mapped[str | None] = mapped_column(String(36))  # NULL: a lead's opt-out by its address alone
    email_hash: Mapped[str | None] = mapped_column(String(64))  # SHA-256 hex of the address (privacy requests)
    topic: Mapped[str] = mapped_column(String(30))
    product_id: Mapped[str | None] = mapped_column(String(36))
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    changed_at: Mapped[datetime] = mapped_column()
