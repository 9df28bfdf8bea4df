"""Tables of subscriptions: plans, subscriptions, their MRR history, content subscriptions
(imported at the end of crm_sales.models, so Base.metadata holds them)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_common.db import IdMixin, utcnow
from crm_sales.models import MONEY, Base, Entity, Scoped


class Plan(Entity, Base):
    __tablename__ = "subscription_plans"
    name: Mapped[str] = mapped_column(String(200))
    product_id: Mapped[str | None] = mapped_column(ForeignKey("products.id"))
    price: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    period: Mapped[str] = mapped_column(String(10))
    trial_days: Mapped[int] = mapped_column(Integer, default=0)
    renewal_reminder_days: Mapped[int] = mapped_column(Integer, default=7)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Subscription(Scoped, Entity, Base):
    """A customer's subscription. Periods are counted from `anchor_on`: period `term` is
    [anchor + term periods, anchor + (term + 1) periods); `renews_on` is its end."""

    __tablename__ = "subscriptions"
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("subscription_plans.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    anchor_on: Mapped[date] = mapped_column(Date)
    term: Mapped[int] = mapped_column(Integer, default=0)
    period_start: Mapped[date] = mapped_column(Date)
    renews_on: Mapped[date | None] = mapped_column(Date)
    trial_ends_on: Mapped[date | None] = mapped_column(Date)
    mrr: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    currency: Mapped[str] = mapped_column(String(3))
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    ended_on: Mapped[date | None] = mapped_column(Date)
    reminded_for: Mapped[date | None] = mapped_column(Date)  # the renewal date whose reminder went out

    __table_args__ = (
        # the renewal scan: live subscriptions by renewal date
        Index("ix_subscriptions_due", "status", "renews_on"),
    )


class SubscriptionMovement(IdMixin, Base):
    """One move of a subscription's MRR (or a change that did not move it): the history the figures read."""

    __tablename__ = "subscription_movements"
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(36))
    owner_id: Mapped[str | None] = mapped_column(String(36), index=True)
    team_id: Mapped[str | None] = mapped_column(String(36))
    territory_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))
    effective_on: Mapped[date] = mapped_column(Date)
    mrr_before: Mapped[Decimal] = mapped_column(MONEY)
    mrr_after: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_subscription_movements_month", "currency", "effective_on"),)


class ContentSubscription(Scoped, Entity, Base):
    __tablename__ = "content_subscriptions"
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    account_id: Mapped[str | None] = mapped_column(String(36))
    topic: Mapped[str] = mapped_column(String(30))
    product_id: Mapped[str | None] = mapped_column(String(36))
    topic_key: Mapped[str] = mapped_column(String(80))  # topic, or topic:product_id
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (UniqueConstraint("contact_id", "topic_key", name="uq_content_subscriptions_topic"),)
