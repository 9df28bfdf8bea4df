"""Tables of the sales service."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from crm_common import generations, jobs
from crm_common.records import attachments, comments, custom_fields
from crm_common.db import IdMixin, TimestampMixin, make_base, utcnow
from crm_common.versioning import VersionMixin

Base = make_base("sales")
jobs.install(Base.metadata)
attachments.install(Base.metadata)  # files on leads, accounts, contacts, deals
comments.install(Base.metadata)  # comments with @mentions on leads, accounts, contacts, deals
custom_fields.install(Base.metadata)  # the definitions of the custom fields of leads, accounts, contacts, deals
generations.install(Base.metadata)  # custom field definitions, territories and assignment rules cached per process

MONEY = Numeric(18, 2)


class Entity(IdMixin, TimestampMixin, VersionMixin):
    """A business record: id, timestamps, version (ETag) and soft delete."""

    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Scoped:
    """Record scope: the owner, the owner's team at assignment, the territory."""

    owner_id: Mapped[str | None] = mapped_column(String(36), index=True)
    team_id: Mapped[str | None] = mapped_column(String(36), index=True)
    territory_id: Mapped[str | None] = mapped_column(String(36), index=True)


class SalesUser(Base):
    """The local copy of identity's users (assignment rules, teams, territories)."""

    __tablename__ = "sales_users"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    full_name: Mapped[str | None] = mapped_column(String(200))
    team_id: Mapped[str | None] = mapped_column(String(36), index=True)
    territory_ids: Mapped[list] = mapped_column(JSON, default=list)
    roles: Mapped[list] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)


class Setting(Base):
    """Configurable business values (grade thresholds, discount limit, commission rate ...)."""

    __tablename__ = "sales_settings"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)


class Territory(Entity, Base):
    __tablename__ = "territories"
    name: Mapped[str] = mapped_column(String(200))
    countries: Mapped[list] = mapped_column(JSON, default=list)
    industries: Mapped[list] = mapped_column(JSON, default=list)
    member_ids: Mapped[list] = mapped_column(JSON, default=list)
    owner_id: Mapped[str | None] = mapped_column(String(36))
    team_id: Mapped[str | None] = mapped_column(String(36))


class AssignmentRule(Entity, Base):
    __tablename__ = "assignment_rules"
    name: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer, default=100)
    strategy: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[str | None] = mapped_column(String(36))
    territory_id: Mapped[str | None] = mapped_column(String(36))
    countries: Mapped[list] = mapped_column(JSON, default=list)
    industries: Mapped[list] = mapped_column(JSON, default=list)
    source: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_user_id: Mapped[str | None] = mapped_column(String(36))


class Lead(Scoped, Entity, Base):
    __tablename__ = "leads"
    custom_fields: Mapped[dict | None] = mapped_column(JSON, default=dict)  # crm_common.records.custom_fields
    tags: Mapped[list | None] = mapped_column(JSON, default=list)
    # no index of their own: ix_leads_owner_created and ix_leads_team_created start with them (one index less
    # to maintain per insert each)
    owner_id: Mapped[str | None] = mapped_column(String(36))
    team_id: Mapped[str | None] = mapped_column(String(36))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    company: Mapped[str | None] = mapped_column(String(200))
    company_key: Mapped[str | None] = mapped_column(String(200), index=True)
    title: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    country: Mapped[str | None] = mapped_column(String(2))
    industry: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20), default="api")
    status: Mapped[str] = mapped_column(String(20), default="new")
    score: Mapped[int] = mapped_column(Integer, default=0)
    campaign_id: Mapped[str | None] = mapped_column(String(36))
    duplicate_of_id: Mapped[str | None] = mapped_column(String(36))
    assignment_rule: Mapped[str | None] = mapped_column(String(40))
    converted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    converted_account_id: Mapped[str | None] = mapped_column(String(36))
    converted_contact_id: Mapped[str | None] = mapped_column(String(36))
    converted_opportunity_id: Mapped[str | None] = mapped_column(String(36))
    import_job_id: Mapped[str | None] = mapped_column(String(36))
    anonymized_at: Mapped[datetime | None] = mapped_column(nullable=True)
    partner_id: Mapped[str | None] = mapped_column(String(36), index=True)  # given to a partner (by territory, tier)

    __table_args__ = (
        # the list's common shapes: visible, filtered by status / owner, newest first
        Index("ix_leads_status_created", "status", "created_at", "id"),
        Index("ix_leads_status_score", "status", "score", "id"),
        Index("ix_leads_owner_created", "owner_id", "created_at", "id"),
        Index("ix_leads_team_created", "team_id", "created_at", "id"),  # a team's list, paged by its index
        Index("ix_leads_created", "created_at", "id"),
    )


class Account(Scoped, Entity, Base):
    __tablename__ = "accounts"
    custom_fields: Mapped[dict | None] = mapped_column(JSON, default=dict)  # crm_common.records.custom_fields
    tags: Mapped[list | None] = mapped_column(JSON, default=list)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    industry: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[str | None] = mapped_column(String(20))
    employees: Mapped[int | None] = mapped_column(Integer)
    website: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(20))
    street: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    region: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    grade: Mapped[str | None] = mapped_column(String(1))
    lifecycle_stage: Mapped[str] = mapped_column(String(20), default="prospect")
    total_value: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    order_count: Mapped[int] = mapped_column(Integer, default=0)
    last_order_at: Mapped[datetime | None] = mapped_column(nullable=True)
    merged_into_id: Mapped[str | None] = mapped_column(String(36))


class Contact(Scoped, Entity, Base):
    __tablename__ = "contacts"
    custom_fields: Mapped[dict | None] = mapped_column(JSON, default=dict)  # crm_common.records.custom_fields
    tags: Mapped[list | None] = mapped_column(JSON, default=list)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    title: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))
    do_not_call: Mapped[bool] = mapped_column(Boolean, default=False)
    lead_id: Mapped[str | None] = mapped_column(String(36))
    merged_into_id: Mapped[str | None] = mapped_column(String(36))
    anonymized_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Pipeline(Entity, Base):
    __tablename__ = "pipelines"
    name: Mapped[str] = mapped_column(String(200))
    stages: Mapped[list] = mapped_column(JSON)


class Opportunity(Scoped, Entity, Base):
    __tablename__ = "opportunities"
    custom_fields: Mapped[dict | None] = mapped_column(JSON, default=dict)  # crm_common.records.custom_fields
    tags: Mapped[list | None] = mapped_column(JSON, default=list)
    name: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id"))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    pipeline_id: Mapped[str | None] = mapped_column(String(36))
    stage: Mapped[str] = mapped_column(String(50), index=True)
    probability: Mapped[int] = mapped_column(Integer)
    forecast_category: Mapped[str] = mapped_column(String(20), default="pipeline")
    expected_close_date: Mapped[date | None] = mapped_column(Date, index=True)
    lost_reason: Mapped[str | None] = mapped_column(String(500))
    campaign_id: Mapped[str | None] = mapped_column(String(36))
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    stage_entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    lead_id: Mapped[str | None] = mapped_column(String(36))
    partner_id: Mapped[str | None] = mapped_column(String(36), index=True)  # a partner's registered deal
    partner_tier: Mapped[str | None] = mapped_column(String(20))  # the partner's tier when the deal was won


class StageHistory(IdMixin, Base):
    __tablename__ = "opportunity_stage_history"
    opportunity_id: Mapped[str] = mapped_column(ForeignKey("opportunities.id"), index=True)
    stage: Mapped[str] = mapped_column(String(50))
    probability: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal | None] = mapped_column(MONEY)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by: Mapped[str | None] = mapped_column(String(36))
    left_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Product(Entity, Base):
    __tablename__ = "products"
    name: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str] = mapped_column(String(60), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    tax_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Quote(Scoped, Entity, Base):
    __tablename__ = "quotes"
    opportunity_id: Mapped[str | None] = mapped_column(ForeignKey("opportunities.id"), index=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    tax_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    subtotal: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    discount_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    tax_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    lines: Mapped[list] = mapped_column(JSON, default=list)
    needs_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    approved_by: Mapped[str | None] = mapped_column(String(36))
    approved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    valid_until: Mapped[date | None] = mapped_column(Date)
    order_id: Mapped[str | None] = mapped_column(String(36))
    terms: Mapped[str | None] = mapped_column(Text)


class Order(Scoped, Entity, Base):
    __tablename__ = "orders"
    quote_id: Mapped[str | None] = mapped_column(ForeignKey("quotes.id"), index=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    opportunity_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(20), default="placed")
    total: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    lines: Mapped[list] = mapped_column(JSON, default=list)
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    partner_id: Mapped[str | None] = mapped_column(String(36), index=True)  # a partner's order
    partner_tier: Mapped[str | None] = mapped_column(String(20))  # the partner's tier when it was placed


class SalesContract(Scoped, Entity, Base):
    __tablename__ = "contracts"
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id"))
    opportunity_id: Mapped[str | None] = mapped_column(ForeignKey("opportunities.id"))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date, index=True)
    value: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    terms: Mapped[str | None] = mapped_column(Text)
    lines: Mapped[list] = mapped_column(JSON, default=list)
    renewal_notice_days: Mapped[int | None] = mapped_column(Integer)
    reminder_activity_id: Mapped[str | None] = mapped_column(String(36))
    signed_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Activity(Scoped, Entity, Base):
    __tablename__ = "activities"
    type: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    ends_at: Mapped[datetime | None] = mapped_column(nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    remind_at: Mapped[datetime | None] = mapped_column(nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(nullable=True)  # null: the reminder is still to go out
    participant_ids: Mapped[list] = mapped_column(JSON, default=list)
    lead_id: Mapped[str | None] = mapped_column(String(36), index=True)
    account_id: Mapped[str | None] = mapped_column(String(36), index=True)
    contact_id: Mapped[str | None] = mapped_column(String(36), index=True)
    opportunity_id: Mapped[str | None] = mapped_column(String(36), index=True)
    contract_id: Mapped[str | None] = mapped_column(String(36))
    call_list_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(20), default="open")
    outcome: Mapped[str | None] = mapped_column(String(40))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    callback_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (
        # the reminder scan: reminders still to go out, by time (partial: sent ones are most rows over time)
        Index("ix_activities_reminder_due", "remind_at", sqlite_where=text("reminded_at IS NULL"),
              postgresql_where=text("reminded_at IS NULL")),
    )


class CallList(Scoped, Entity, Base):
    __tablename__ = "call_lists"
    name: Mapped[str] = mapped_column(String(200))
    items: Mapped[list] = mapped_column(JSON, default=list)  # [{contact_id, status, outcome, activity_id}]
    skipped: Mapped[list] = mapped_column(JSON, default=list)  # [{contact_id, reason}]


class Target(Entity, Base):
    __tablename__ = "targets"
    period: Mapped[str] = mapped_column(String(10), index=True)
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    owner_id: Mapped[str | None] = mapped_column(String(36))  # = user_id, for record scope
    team_id: Mapped[str | None] = mapped_column(String(36), index=True)
    territory_id: Mapped[str | None] = mapped_column(String(36), index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))


class Expense(Scoped, Entity, Base):
    __tablename__ = "expenses"
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    category: Mapped[str] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    incurred_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="submitted")
    decided_by: Mapped[str | None] = mapped_column(String(36))
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decision_note: Mapped[str | None] = mapped_column(String(500))


from crm_sales.subscription_models import *  # noqa: E402,F401,F403 - their own module, on the same Base
from crm_sales.partner_models import *  # noqa: E402,F401,F403
class ExternalId(IdMixin, Base):
    """A record's id in another system (ERP, e-commerce): one link per resource, system and external id."""

    __tablename__ = "external_ids"
    __table_args__ = (Index("uq_external_ids_key", "resource", "system", "external_id", unique=True),
                      Index("ix_external_ids_record", "resource", "record_id"))

    resource: Mapped[str] = mapped_column(String(20), nullable=False)
    system: Mapped[str] = mapped_column(String(64), nullable=False)
    external_id: Mapped[str] = mapped_column(String(200), nullable=False)
    record_id: Mapped[str] = mapped_column(String(36), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
