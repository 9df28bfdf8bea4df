"""Tables of the identity service."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, synonym

from crm_common.db import IdMixin, TimestampMixin, make_base, utcnow
from crm_common.types import UTCDateTime
from crm_common.versioning import VersionMixin

Base = make_base("identity")


class User(IdMixin, TimestampMixin, VersionMixin, Base):
    """A person who signs in: staff, or a portal customer (role "customer" with a contact)."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)  # stored lower-case
    full_name: Mapped[str] = mapped_column(String(200), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    team_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)  # checked in code
    territory_ids: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    roles: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    account_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    contact_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    partner_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # role partner: the partner (sales)
    mfa_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    mfa_secret: Mapped[str | None] = mapped_column(String(255), nullable=True)  # sealed (crm_common.secretbox)
    mfa_pending_secret: Mapped[str | None] = mapped_column(String(255), nullable=True)
    mfa_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)  # refuses a replayed code
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # access tokens issued before this instant are refused by the gateway (revocation of live sessions)
    tokens_valid_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # domain/email_tokens

    # record scope (crm_common.scope): "own" is the user themself, "team" the caller's team
    owner_id = synonym("id")

    @property
    def kind(self) -> str:
        return "customer" if "customer" in (self.roles or []) else "user"


class Team(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(120), unique=True, nullable=False)
    manager_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # checked in code

    # record scope: "own" is the team's manager, "team" the caller's own team
    owner_id = synonym("manager_id")
    team_id = synonym("id")


class Role(IdMixin, TimestampMixin, VersionMixin, Base):
    """A custom role (the built-in ones live in crm_common.permissions.BUILTIN_ROLES)."""

    __tablename__ = "roles"

    name: Mapped[str] = mapped_column(String(50), unique=True, nullable=False)
    description: Mapped[str | None] = mapped_column(String(500), nullable=True)
    permissions: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)


class ApiKey(IdMixin, Base):
    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(120), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)  # sha256 hex of the key
    roles: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    owner_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id"), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    rate_limit: Mapped[str | None] = mapped_column(String(60), nullable=True)  # its own, else CRM_RATE_LIMIT


class RefreshToken(IdMixin, Base):
    """One refresh token of a chain (a login); only its SHA-256 hash is stored."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    chain_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"), nullable=False, index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # the login that began the chain: no rotation extends a session past it plus CRM_SESSION_MAX_AGE
    session_started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class TerritoryRoster(Base):
    """A sales territory's member list as sales last announced it (`sales.territory_members_changed.v1`)."""

    __tablename__ = "territory_rosters"

    territory_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)  # the territory's version: older news is ignored
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class TerritoryMember(Base):
    """A user listed on a sales territory: part of their territory scope beside `User.territory_ids`."""

    __tablename__ = "territory_members"

    territory_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)


class LoginAttempt(Base):
    """Recent logins, for throttling per account (email hash) and per client address."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email_at", "email_hash", "at"),
                      Index("ix_login_attempts_ip_at", "client_ip", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    client_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    succeeded: Mapped[bool] = mapped_column(Boolean, nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class AuditEntry(IdMixin, Base):
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entity", "entity_type", "entity_id"),)

    event_id: Mapped[str | None] = mapped_column(String(36), unique=True, nullable=True)
    event_type: Mapped[str] = mapped_column(String(120), nullable=False)
    producer: Mapped[str | None] = mapped_column(String(40), nullable=True)
    actor_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    actor_kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    api_key_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)  # the integration's key
    action: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    entity_type: Mapped[str] = mapped_column(String(60), nullable=False)
    entity_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    changed_fields: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    client_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)


class PrivacyRequest(IdMixin, TimestampMixin, Base):
    __tablename__ = "privacy_requests"

    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="pending")
    parts: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    requested_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class EmailToken(IdMixin, Base):
    """A single-use token mailed to a person (password reset, email verification), kept only as its hash; a
    request for an unknown address is kept too (no user, no token), so that requests per client are counted."""

    __tablename__ = "email_tokens"
    __table_args__ = (Index("ix_email_tokens_email_created", "email_hash", "created_at"),
                      Index("ix_email_tokens_ip_created", "client_ip", "created_at"))

    purpose: Mapped[str] = mapped_column(String(20), nullable=False)  # password_reset, verify_email
    user_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    email_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    client_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
