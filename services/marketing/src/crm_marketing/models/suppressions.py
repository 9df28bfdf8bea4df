"""The suppression list: addresses the suite never mails."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, func
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, synonym

from crm_common.db import IdMixin, TimestampMixin
from crm_common.versioning import VersionMixin
from crm_marketing.models.base import LIVE, Base


class Suppression(IdMixin, TimestampMixin, VersionMixin, Base):
    """An address the suite never mails. One live entry per address (the unique index on the hash of the
    live entries); a lifted entry is soft-deleted (kept, hidden) until its address is erased."""

    __tablename__ = "suppressions"
    __table_args__ = (
        Index("ix_suppressions_email", "email"),
        Index("ux_suppressions_live_email_hash", "email_hash", unique=True, sqlite_where=LIVE, postgresql_where=LIVE),
        Index("ix_suppressions_created_at", "created_at"),
    )

    email: Mapped[str | None] = mapped_column(String(254))  # trimmed, lower-cased; None once erased
    email_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 (hex) of the address: what erasure keeps
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(500))
    source: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[str | None] = mapped_column(String(36))
    deleted_at: Mapped[datetime | None] = mapped_column()  # lifted: kept (soft delete), hidden
    deleted_by: Mapped[str | None] = mapped_column(String(36))

    owner_id = synonym("created_by")  # record scope (crm_common.scope): "own" is the entries one added

    @hybrid_property
    def sort_email(self) -> str:
        """The address to sort by: erased entries (no address) sort as "" on every database."""
        return self.email or ""

    @sort_email.inplace.expression
    @classmethod
    def _sort_email(cls):
        return func.coalesce(cls.email, "")
