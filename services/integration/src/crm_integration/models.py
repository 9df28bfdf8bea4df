"""Tables of the integration service: the ordered event feed (webhooks come on top of it)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from crm_common import jobs
from crm_common.db import IdMixin, TimestampMixin, make_base
from crm_common.versioning import VersionMixin

Base = make_base("integration")


class FeedCounter(Base):
    """The one row whose `value` is the last sequence number given to a feed event. Taking the next number is
    an UPDATE of this row, which holds its lock until the transaction commits: numbers become visible in the
    order they were taken (the single ordered writer of the feed)."""

    __tablename__ = "feed_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class FeedEvent(Base):
    """One business event of any service, at its place (`seq`) in the global order of the feed."""

    __tablename__ = "feed_events"
    __table_args__ = (Index("ix_feed_events_type_seq", "type", "seq"),
                      Index("ix_feed_events_received_at", "received_at"))

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    type: Mapped[str] = mapped_column(String(120), nullable=False)
    producer: Mapped[str | None] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(nullable=False)
    received_at: Mapped[datetime] = mapped_column(nullable=False)
    # record scope of the feed (crm_common.scope): what the event's data names, when it names it
    owner_id: Mapped[str | None] = mapped_column(String(64))
    team_id: Mapped[str | None] = mapped_column(String(64))
    territory_id: Mapped[str | None] = mapped_column(String(64))
    envelope: Mapped[dict] = mapped_column(JSON, nullable=False)


class Webhook(IdMixin, TimestampMixin, VersionMixin, Base):
    """A subscription: the event types (patterns) it takes, where they go, and the secret that signs them.
    The secret must be read back to sign, so it is kept as given (the database is the service's own); the
    previous one keeps signing until `previous_secret_expires_at` (rotation's grace)."""

    __tablename__ = "webhooks"

    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    events: Mapped[list] = mapped_column(JSON, nullable=False)
    secret: Mapped[str] = mapped_column(String(200), nullable=False)
    previous_secret: Mapped[str | None] = mapped_column(String(200))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column()
    secret_rotated_at: Mapped[datetime | None] = mapped_column()
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    format: Mapped[str] = mapped_column(String(20), nullable=False, default="standard")
    description: Mapped[str | None] = mapped_column(String(500))
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    owner_id: Mapped[str | None] = mapped_column(String(64))
    deleted_at: Mapped[datetime | None] = mapped_column()


# The unsettled deliveries (pending, sending, failed), as literal SQL: the predicate of the partial indexes
# below, written the same way in the claim's query so that both PostgreSQL and SQLite see that it implies them
# (SQLite matches a partial index's WHERE term by term, and never through a bound parameter).
UNSETTLED = ("pending", "sending", "failed")
UNSETTLED_SQL = "status IN ('pending', 'sending', 'failed')"
SETTLED = ("succeeded", "dead")
# The stored status (the sender's detail) -> the one clients see (API.md: pending, delivered, failed). Stored
# `failed` is a retry planned, so it shows as pending; stored `dead` (given up for good) shows as failed.
PUBLIC_STATUS = {"pending": "pending", "sending": "pending", "failed": "pending", "succeeded": "delivered",
                 "dead": "failed"}


def stored_statuses(public: str) -> list[str]:
    """The stored statuses a client's `status` filter means."""
    return [stored for stored, shown in PUBLIC_STATUS.items() if shown == public]


def _unsettled(name: str, *columns: str) -> Index:
    return Index(name, *columns, postgresql_where=text(UNSETTLED_SQL), sqlite_where=text(UNSETTLED_SQL))


class Delivery(IdMixin, Base):
    """One event for one webhook: its attempts so far, the last answer, and when it is tried next. Deliveries
    of one webhook and one record go out in feed order (`seq`): one waits while an earlier one is unsettled.

    The claim walks `ix_webhook_deliveries_claim` (the unsettled ones by due time) up to the deliveries it takes,
    and asks `ix_webhook_deliveries_waiting` whether an earlier one of the same webhook and record is still
    unsettled: both partial, so neither grows with the settled history, and a claim never sorts the backlog."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (_unsettled("ix_webhook_deliveries_claim", "next_attempt_at", "seq"),
                      _unsettled("ix_webhook_deliveries_waiting", "webhook_id", "record_key", "seq"),
                      Index("ix_webhook_deliveries_log", "webhook_id", "created_at"))

    webhook_id: Mapped[str] = mapped_column(String(36), nullable=False)
    event_id: Mapped[str] = mapped_column(String(64), nullable=False)
    event_type: Mapped[str] = mapped_column(String(120), nullable=False)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    record_key: Mapped[str] = mapped_column(String(200), nullable=False)
    envelope: Mapped[dict] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    response_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    first_attempt_at: Mapped[datetime | None] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()


jobs.install(Base.metadata)  # crm_jobs: bulk exports run as jobs with progress


class ExportPart(Base):
    """One page of a bulk export's file, rendered (NDJSON lines or CSV rows; the CSV header in part 0)."""

    __tablename__ = "export_parts"

    job_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    part: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[str] = mapped_column(Text, nullable=False)
