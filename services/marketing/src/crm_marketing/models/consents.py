"""Consent per person and channel, with where, when and under which text it was given."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column, synonym

from crm_common.db import IdMixin, TimestampMixin
from crm_common.versioning import VersionMixin
from crm_marketing.models.base import Base


class Consent(IdMixin, TimestampMixin, VersionMixin, Base):
    """The current consent of one address on one channel (email, sms, phone); its history is in the events
    (marketing.consent_changed.v1). `status` is opted_in, opted_out or pending (double opt-in sent)."""

    __tablename__ = "consents"
    __table_args__ = (
        Index("ux_consents_email_hash_channel", "email_hash", "channel", unique=True),
        Index("ix_consents_contact_id", "contact_id"),
        Index("ix_consents_confirm_token_hash", "confirm_token_hash"),
    )

    email: Mapped[str | None] = mapped_column(String(254))  # None once erased
    email_hash: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[str | None] = mapped_column(String(36))
    lead_id: Mapped[str | None] = mapped_column(String(36))
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    source: Mapped[str | None] = mapped_column(String(100))  # form:<id>, import, manual, api, unsubscribe...
    captured_at: Mapped[datetime | None] = mapped_column()
    ip: Mapped[str | None] = mapped_column(String(45))
    text_version: Mapped[str | None] = mapped_column(String(50))  # the consent text's version shown
    confirm_token_hash: Mapped[str | None] = mapped_column(String(64))  # double opt-in, pending only
    confirmed_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(String(36))

    owner_id = synonym("created_by")  # record scope (crm_common.scope): "own" is the consents one recorded
