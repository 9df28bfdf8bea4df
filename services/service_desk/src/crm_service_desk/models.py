"""Tables of the service_desk service."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, synonym

from crm_common.records import attachments, custom_fields
from crm_common.db import IdMixin, TimestampMixin, make_base, utcnow
from crm_common.versioning import VersionMixin

Base = make_base("service_desk")
custom_fields.install(Base.metadata)  # the definitions of the custom fields of tickets (crm_common.records)
attachments.install(Base.metadata)  # files on tickets (crm_common.records)

OPEN_STATUSES = ("new", "open", "pending", "on_hold", "reopened")


class Counter(Base):
    """Gap-free sequences (ticket numbers): one row per name, bumped in the transaction that uses it."""
    __tablename__ = "sd_counters"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class DeskSettings(VersionMixin, Base):
    """The one row of service-wide settings (id = 1)."""
    __tablename__ = "sd_settings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reopen_days: Mapped[int] = mapped_column(Integer, default=7)
    customers_see_account_tickets: Mapped[bool] = mapped_column(Boolean, default=False)
    complaint_ack_minutes: Mapped[int] = mapped_column(Integer, default=2 * 24 * 60)
    complaint_final_response_minutes: Mapped[int] = mapped_column(Integer, default=30 * 24 * 60)
    updated_at: Mapped[datetime | None] = mapped_column(nullable=True)


# -- copies of other services' records (fed by events) ------------------------------------------

class AgentCopy(Base):
    """A user of identity, as the service desk needs it (assignment, availability)."""
    __tablename__ = "sd_agents"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    team_id: Mapped[str | None] = mapped_column(String(36))
    roles: Mapped[list] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    available: Mapped[bool] = mapped_column(Boolean, default=True)


class ContactCopy(Base):
    __tablename__ = "sd_contacts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(String(36), index=True)
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(60))
    merged_into_id: Mapped[str | None] = mapped_column(String(36))


class AccountCopy(Base):
    __tablename__ = "sd_accounts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(300))
    grade: Mapped[str | None] = mapped_column(String(1))
    country: Mapped[str | None] = mapped_column(String(2))
    industry: Mapped[str | None] = mapped_column(String(100))


# -- groups, routing, calendars, SLA ------------------------------------------------------------

class Group(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "sd_groups"
    name: Mapped[str] = mapped_column(String(200), unique=True)
    manager_id: Mapped[str | None] = mapped_column(String(36))
    assignment: Mapped[str] = mapped_column(String(20), default="round_robin")  # round_robin | least_loaded | none
    member_ids: Mapped[list] = mapped_column(JSON, default=list)
    last_assigned_id: Mapped[str | None] = mapped_column(String(36))
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)


class GroupMember(Base):
    """Membership rows mirror Group.member_ids so that the team scope is one indexed sub-select."""
    __tablename__ = "sd_group_members"
    group_id: Mapped[str] = mapped_column(ForeignKey("sd_groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)


class RoutingRule(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "sd_routing_rules"
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=100)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    channel: Mapped[str | None] = mapped_column(String(20))
    type: Mapped[str | None] = mapped_column(String(20))
    priority: Mapped[str | None] = mapped_column(String(10))
    account_grade: Mapped[str | None] = mapped_column(String(1))
    keywords: Mapped[list] = mapped_column(JSON, default=list)
    group_id: Mapped[str] = mapped_column(ForeignKey("sd_groups.id"))
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)


class BusinessHours(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "sd_business_hours"
    name: Mapped[str] = mapped_column(String(200))
    utc_offset_minutes: Mapped[int] = mapped_column(Integer, default=0)
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)  # IANA name; wins over the offset
    # [{"weekday": 0..6 (Monday 0), "start": "09:00", "end": "17:00"}, ...]
    intervals: Mapped[list] = mapped_column(JSON, default=list)
    holidays: Mapped[list] = mapped_column(JSON, default=list)  # ["2026-12-25", ...]
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)


class SlaPolicy(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "sd_sla_policies"
    name: Mapped[str] = mapped_column(String(200))
    priority: Mapped[str] = mapped_column(String(10), index=True)
    account_grade: Mapped[str | None] = mapped_column(String(1))
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    business_hours_id: Mapped[str | None] = mapped_column(ForeignKey("sd_business_hours.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)


class ServiceContract(IdMixin, TimestampMixin, VersionMixin, Base):
    """A warranty or a service contract: an account's entitlement to support (per product or all)."""
    __tablename__ = "sd_service_contracts"
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="support")  # support | warranty
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    product_id: Mapped[str | None] = mapped_column(String(36))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    included_hours: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    consumed_hours: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal("0"))
    sla_policy_id: Mapped[str | None] = mapped_column(ForeignKey("sd_sla_policies.id"))
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)

    @property
    def remaining_hours(self) -> Decimal | None:
        if self.included_hours is None:
            return None
        return Decimal(self.included_hours) - Decimal(self.consumed_hours or 0)

    def status_on(self, day: date) -> str:
        if day < self.starts_on:
            return "upcoming"
        if day > self.ends_on:
            return "expired"
        remaining = self.remaining_hours
        if remaining is not None and remaining <= 0:
            return "exhausted"
        return "active"

    @property
    def status(self) -> str:
        return self.status_on(utcnow().date())


# -- tickets ------------------------------------------------------------------------------------

class Ticket(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "sd_tickets"
    custom_fields: Mapped[dict | None] = mapped_column(JSON, default=dict)  # crm_common.records.custom_fields
    number: Mapped[str] = mapped_column(String(20), unique=True)
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(20))
    type: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), index=True)
    requester_email: Mapped[str | None] = mapped_column(String(320))
    requester_name: Mapped[str | None] = mapped_column(String(200))
    contact_id: Mapped[str | None] = mapped_column(String(36))
    account_id: Mapped[str | None] = mapped_column(String(36))
    product_id: Mapped[str | None] = mapped_column(String(36))
    assignee_id: Mapped[str | None] = mapped_column(String(36))
    group_id: Mapped[str | None] = mapped_column(String(36))
    tags: Mapped[list] = mapped_column(JSON, default=list)
    created_by: Mapped[str | None] = mapped_column(String(36))  # the opener sees their tickets
    # SLA
    sla_policy_id: Mapped[str | None] = mapped_column(String(36), index=True)
    service_contract_id: Mapped[str | None] = mapped_column(String(36), index=True)
    entitled: Mapped[bool] = mapped_column(Boolean, default=False)
    first_response_due_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    resolution_due_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    first_responded_at: Mapped[datetime | None] = mapped_column(nullable=True)
    first_response_breached_at: Mapped[datetime | None] = mapped_column(nullable=True)
    resolution_breached_at: Mapped[datetime | None] = mapped_column(nullable=True)
    paused_at: Mapped[datetime | None] = mapped_column(nullable=True)
    paused_minutes: Mapped[int] = mapped_column(Integer, default=0)
    sla_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    solved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)

    # crm_common.scope's "own" rule reads owner_id: a ticket is its assignee's own
    owner_id = synonym("assignee_id")
    # not stored: the requester's portal view sets a freshly issued survey token here (surveys.portal_token)
    survey_token = None

    @property
    def sla_paused(self) -> bool:
        return self.paused_at is not None

    __table_args__ = (
        Index("ix_sd_tickets_breach_scan", "status", "paused_at"),
        # a list pages each way a caller sees tickets (visibility.ticket_alternatives) by the index of its column,
        # newest first; a manager's, every ticket, by the creation time's
        Index("ix_sd_tickets_assignee_created", "assignee_id", "created_at", "id"),
        Index("ix_sd_tickets_opener_created", "created_by", "created_at", "id"),
        Index("ix_sd_tickets_group_created", "group_id", "created_at", "id"),
        Index("ix_sd_tickets_contact_created", "contact_id", "created_at", "id"),
        Index("ix_sd_tickets_requester_created", "requester_email", "created_at", "id"),
        Index("ix_sd_tickets_account_created", "account_id", "created_at", "id"),
        Index("ix_sd_tickets_created", "created_at", "id"),
    )


class Comment(IdMixin, Base):
    __tablename__ = "sd_comments"
    ticket_id: Mapped[str] = mapped_column(ForeignKey("sd_tickets.id"), index=True)
    author_id: Mapped[str | None] = mapped_column(String(36))
    author_kind: Mapped[str] = mapped_column(String(20), default="user")  # user | customer | system
    author_email: Mapped[str | None] = mapped_column(String(320), index=True)
    author_name: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(index=True)


class TimeLog(IdMixin, Base):
    __tablename__ = "sd_time_logs"
    ticket_id: Mapped[str] = mapped_column(ForeignKey("sd_tickets.id"), index=True)
    user_id: Mapped[str | None] = mapped_column(String(36))
    minutes: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    service_contract_id: Mapped[str | None] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = mapped_column()


class SlaBreach(IdMixin, Base):
    __tablename__ = "sd_sla_breaches"
    ticket_id: Mapped[str] = mapped_column(ForeignKey("sd_tickets.id"), index=True)
    policy_id: Mapped[str | None] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # first_response | resolution
    due_at: Mapped[datetime] = mapped_column()
    breached_at: Mapped[datetime] = mapped_column()
    detected_at: Mapped[datetime] = mapped_column()
    __table_args__ = (UniqueConstraint("ticket_id", "kind", name="uq_sd_sla_breach_ticket_kind"),)


class Notification(IdMixin, Base):
    """A message for a user of the service desk (the group's manager on an escalation)."""
    __tablename__ = "sd_notifications"
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    ticket_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column()
    read_at: Mapped[datetime | None] = mapped_column(nullable=True)


# -- complaints -----------------------------------------------------------------------------------

class Complaint(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "sd_complaints"
    ticket_id: Mapped[str | None] = mapped_column(String(36), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(100))
    severity: Mapped[str] = mapped_column(String(10), default="normal")
    requester_email: Mapped[str | None] = mapped_column(String(320), index=True)
    contact_id: Mapped[str | None] = mapped_column(String(36))
    account_id: Mapped[str | None] = mapped_column(String(36))
    owner_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(20), default="received")  # received | acknowledged | resolved
    received_at: Mapped[datetime] = mapped_column()
    acknowledgement_due_at: Mapped[datetime] = mapped_column()
    acknowledged_at: Mapped[datetime | None] = mapped_column(nullable=True)
    final_response_due_at: Mapped[datetime] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    root_cause: Mapped[str | None] = mapped_column(String(100))
    resolution: Mapped[str | None] = mapped_column(Text)
    compensation_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    compensation_currency: Mapped[str | None] = mapped_column(String(3))

    @property
    def acknowledgement_overdue(self) -> bool:
        done = self.acknowledged_at or self.resolved_at
        return (done or utcnow()) > self.acknowledgement_due_at

    @property
    def final_response_overdue(self) -> bool:
        return (self.resolved_at or utcnow()) > self.final_response_due_at


# -- knowledge base -------------------------------------------------------------------------------

class KbArticle(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "sd_kb_articles"
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    category: Mapped[str | None] = mapped_column(String(100), index=True)
    author_id: Mapped[str | None] = mapped_column(String(36))
    source_ticket_id: Mapped[str | None] = mapped_column(String(36))
    helpful_count: Mapped[int] = mapped_column(Integer, default=0)
    not_helpful_count: Mapped[int] = mapped_column(Integer, default=0)
    published_at: Mapped[datetime | None] = mapped_column(nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)

    owner_id = synonym("author_id")


class KbVote(Base):
    __tablename__ = "sd_kb_votes"
    article_id: Mapped[str] = mapped_column(ForeignKey("sd_kb_articles.id"), primary_key=True)
    voter: Mapped[str] = mapped_column(String(360), primary_key=True)
    helpful: Mapped[bool] = mapped_column(Boolean)


# -- satisfaction ---------------------------------------------------------------------------------

class NpsSurvey(IdMixin, TimestampMixin, Base):
    __tablename__ = "sd_nps_surveys"
    name: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str | None] = mapped_column(String(36))


class SurveyInvitation(IdMixin, Base):
    """One token-bound question: a CSAT survey of a solved ticket, or an NPS survey sent to a contact."""
    __tablename__ = "sd_survey_invitations"
    kind: Mapped[str] = mapped_column(String(10))  # csat | nps
    # SHA-256 (hex) of the tokens issued for this invitation, never the tokens: the one handed to the
    # mailer for the email, and the one shown on the requester's portal view (each replaced on reissue)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    portal_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    ticket_id: Mapped[str | None] = mapped_column(String(36), index=True)
    survey_id: Mapped[str | None] = mapped_column(String(36), index=True)
    contact_id: Mapped[str | None] = mapped_column(String(36))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column()


class Macro(IdMixin, TimestampMixin, VersionMixin, Base):
    """A canned reply agents put on a ticket: its body's placeholders filled from the ticket (domain.macros).
    With a team_id it shows to that team's members (and managers); without, to every agent."""
    __tablename__ = "sd_macros"
    name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, default=True)  # a public reply, or an internal note
    team_id: Mapped[str | None] = mapped_column(String(36), index=True)
    created_by: Mapped[str | None] = mapped_column(String(36))
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)
