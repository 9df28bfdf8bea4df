"""Web forms (public `POST /f/{form_id}`) and what visitors submitted through them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_common.db import IdMixin, TimestampMixin, utcnow
from crm_common.versioning import VersionMixin
from crm_marketing.models.base import Base


class Form(IdMixin, TimestampMixin, VersionMixin, Base):
    """A form: its fields (`[{name, label, type, required, choices}]`), the campaign its leads belong to,
    the consent text shown and its version, whether consent is confirmed by mail (double opt-in), where a
    browser goes after submitting, and the hidden field a bot fills (honeypot)."""

    __tablename__ = "forms"

    name: Mapped[str] = mapped_column(String(200))
    fields: Mapped[list] = mapped_column(JSON)
    campaign_id: Mapped[str | None] = mapped_column(String(36))
    consent_text: Mapped[str | None] = mapped_column(Text)
    consent_text_version: Mapped[str | None] = mapped_column(String(50))
    double_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    redirect_url: Mapped[str | None] = mapped_column(String(2000))
    honeypot_field: Mapped[str | None] = mapped_column(String(100))
    owner_id: Mapped[str | None] = mapped_column(String(36))
    deleted_at: Mapped[datetime | None] = mapped_column()


class FormSubmission(IdMixin, Base):
    """One accepted submission (a honeypot hit is not kept): the answers by field name, the address it
    gave (hashed too, for privacy requests after erasure), where it came from, and its consent."""

    __tablename__ = "form_submissions"
    __table_args__ = (
        Index("ix_form_submissions_form", "form_id", "created_at"),
        Index("ix_form_submissions_email_hash", "email_hash"),
    )

    form_id: Mapped[str] = mapped_column(String(36))
    campaign_id: Mapped[str | None] = mapped_column(String(36))
    email: Mapped[str | None] = mapped_column(String(254))  # None once erased
    email_hash: Mapped[str | None] = mapped_column(String(64))
    answers: Mapped[dict | None] = mapped_column(JSON)  # None once erased
    consent_id: Mapped[str | None] = mapped_column(String(36))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
