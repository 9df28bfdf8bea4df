"""Tables of the analytics service: the append-only event log, its state, and two generations of read models.

The read models exist twice (suffix `_a` and `_b`, readmodels.define): one answers while a rebuild replays
the log into the other, then `an_state.active` switches (domain/rebuild.py).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Table
from sqlalchemy.dialects import sqlite

from crm_common import jobs
from sqlalchemy.orm import Mapped, mapped_column

from crm_common.db import IdMixin, TimestampMixin, make_base
from crm_common.versioning import VersionMixin
from crm_common.types import UTCDateTime

from crm_analytics import readmodels

Base = make_base("analytics")
jobs.install(Base.metadata)

# SQLite makes only INTEGER PRIMARY KEY an autoincrementing rowid
Seq = BigInteger().with_variant(sqlite.INTEGER(), "sqlite")

EVENTS = Table(
    "an_events", Base.metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("type", String(120), nullable=False),
    Column("producer", String(40), nullable=False),
    Column("entity", String(40), nullable=True),
    Column("entity_id", String(64), nullable=True),
    Column("account_id", String(64), nullable=True),
    Column("actor_id", String(64), nullable=True),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("envelope", JSON, nullable=False),
    Index("ix_an_events_account", "account_id", "occurred_at"),
    Index("ix_an_events_type", "type"),
)

STATE = Table(
    "an_state", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("active", String(1), nullable=False),  # "a" or "b": the generation of read models that answers
    Column("rebuilding", String(1), nullable=True),  # the generation a running rebuild fills
    Column("rebuild_job_id", String(36), nullable=True),
    Column("rebuilt_at", UTCDateTime(), nullable=True),
)

GENERATIONS = {name: readmodels.define(Base.metadata, name) for name in ("a", "b")}



class Saved(IdMixin, TimestampMixin, VersionMixin):
    """A saved definition of a user's, shared with a team or a role (not a read model: a rebuild keeps it)."""
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    shared_team_id: Mapped[str | None] = mapped_column(String(64))
    shared_role: Mapped[str | None] = mapped_column(String(60))


class Report(Saved, Base):
    __tablename__ = "an_reports"
    source: Mapped[str] = mapped_column(String(40))
    columns: Mapped[list] = mapped_column(JSON)
    filters: Mapped[dict] = mapped_column(JSON)
    group_by: Mapped[str | None] = mapped_column(String(60))
    sort: Mapped[str | None] = mapped_column(String(61))
    chart: Mapped[str] = mapped_column(String(20))
    schedule: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # {cadence, recipients}: mailed as CSV
    next_run_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    author: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # the author's caller: a schedule runs in its scope


class Dashboard(Saved, Base):
    __tablename__ = "an_dashboards"
    widgets: Mapped[list] = mapped_column(JSON)
