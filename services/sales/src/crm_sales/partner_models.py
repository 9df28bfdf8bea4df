"""Tables of the channel: partners, their training and certification records, deal registrations and profit share
rates (imported at the end of crm_sales.models, so Base.metadata holds them)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_common.db import IdMixin, TimestampMixin
from crm_sales.models import MONEY, Base, Entity


class Partner(Entity, Base):
    __tablename__ = "partners"
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(20), default="registered")
    territory_id: Mapped[str | None] = mapped_column(String(36), index=True)
    account_id: Mapped[str | None] = mapped_column(String(36))
    email: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    owner_id: Mapped[str | None] = mapped_column(String(36))  # the channel manager who signed them up


class PartnerTraining(IdMixin, TimestampMixin, Base):
    __tablename__ = "partner_trainings"
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    person: Mapped[str | None] = mapped_column(String(200))
    completed_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)


class DealRegistration(Entity, Base):
    __tablename__ = "deal_registrations"
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    account_name: Mapped[str] = mapped_column(String(200))
    account_key: Mapped[str] = mapped_column(String(200), index=True)
    opportunity_name: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    expected_close_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    conflict: Mapped[bool] = mapped_column(Boolean, default=False)
    conflicts: Mapped[list] = mapped_column(JSON, default=list)
    account_id: Mapped[str | None] = mapped_column(String(36))
    opportunity_id: Mapped[str | None] = mapped_column(String(36), index=True)
    registered_by: Mapped[str | None] = mapped_column(String(36))
    decided_by: Mapped[str | None] = mapped_column(String(36))
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decision_note: Mapped[str | None] = mapped_column(String(500))


class ShareRate(Entity, Base):
    __tablename__ = "partner_share_rates"
    tier: Mapped[str] = mapped_column(String(20))
    product_key: Mapped[str] = mapped_column(String(36))  # the product id, or "*" for every other product
    product_id: Mapped[str | None] = mapped_column(String(36))
    percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))

    __table_args__ = (UniqueConstraint("tier", "product_key", name="uq_partner_share_rates"),)
