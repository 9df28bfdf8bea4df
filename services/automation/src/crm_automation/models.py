"""Tables of the automation service: workflows, their runs, the snapshots field-change triggers compare
with, round-robin cursors, notifications and their preferences, approvals."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, JSON, Boolean, Index, Integer, String, Text, event, text
from sqlalchemy.orm import Mapped, mapped_column

from crm_common.db import IdMixin, TimestampMixin, make_base
from crm_common.versioning import VersionMixin

Base = make_base("automation")


class Workflow(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "workflows"
    __table_args__ = (Index("ix_workflows_listens", "active", "listens_to"),)

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    trigger: Mapped[dict] = mapped_column(JSON)
    conditions: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    actions: Mapped[list] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # what the event stream looks up: an event type, "entity:<resource>" (field changes) or "schedule"
    listens_to: Mapped[str] = mapped_column(String(200))
    next_fire_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)  # schedules
    template: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)


# the runs the sweep looks for: only those are in its index (a run that ends at its intake never enters it)
ACTIVE_RUN = text("status IN ('queued', 'running', 'waiting')")
# a schedule's runs: one per workflow and fire time, whichever replica fires it (an event's runs are once per event
# already: they are written in the transaction that claims the event in the inbox)
SCHEDULED_RUN = text("trigger_type = 'schedule'")


class WorkflowRun(IdMixin, TimestampMixin, Base):
    """One run of one workflow version: created before acting, committed after each step, leased while a
    worker executes it (a worker that dies leaves it to the next sweep)."""

    __tablename__ = "workflow_runs"
    __table_args__ = (Index("ix_runs_due", "status", "due_at", sqlite_where=ACTIVE_RUN, postgresql_where=ACTIVE_RUN),
                      Index("ix_runs_workflow", "workflow_id", "created_at"), Index("ix_runs_record", "record_id"),
                      Index("uq_runs_schedule_fire", "trigger_event_id", "workflow_id", unique=True,
                            sqlite_where=SCHEDULED_RUN, postgresql_where=SCHEDULED_RUN))

    workflow_id: Mapped[str] = mapped_column(String(36))
    workflow_version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict] = mapped_column(JSON)  # the version that runs (replays use it too)
    trigger_event_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    trigger_type: Mapped[str | None] = mapped_column(String(200), nullable=True)
    resource: Mapped[str | None] = mapped_column(String(64), nullable=True)
    record_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    context: Mapped[dict] = mapped_column(JSON)  # {record, previous, changed_fields, event}
    depth: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    conditions: Mapped[list] = mapped_column(JSON, default=list)
    conditions_met: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    steps: Mapped[list] = mapped_column(JSON, default=list)
    log: Mapped[list] = mapped_column(JSON, default=list)
    next_step: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # of the current step
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    started_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)


ENDED_WORKFLOW_IDS = "string_to_array(btrim(workflow_ids), ' ')"  # " id1 id2 " as {id1,id2}: what the index holds
# ANALYZE's sample of those ids, 10 times the default: a rare workflow then has its own statistics, or the planner
# guesses it in 0.5 % of the rows and walks the created_at index through them all instead of reading the GIN index
ENDED_WORKFLOW_IDS_STATISTICS = "ALTER INDEX ix_runs_ended_workflows ALTER COLUMN 1 SET STATISTICS 1000"


class EndedRuns(Base):
    """The runs of one event that ended at its intake (skipped on their conditions, all stopped by the loop guard:
    past the depth every workflow of the event stops, or succeeded after local actions only): one row for them
    all. The run log reads each back as a run (domain.ended); their ids are this row's with the run's place in the
    last four digits (a place whose run went on after the intake is empty: that run is a row of workflow_runs)."""

    __tablename__ = "workflow_runs_ended"
    __table_args__ = (Index("ix_runs_ended_created", "created_at"), Index("ix_runs_ended_record", "record_id"),
                      # a workflow's run log on PostgreSQL: `@>` over the ids as an array (SQLite scans the text)
                      Index("ix_runs_ended_workflows", text(ENDED_WORKFLOW_IDS),
                            postgresql_using="gin").ddl_if(dialect="postgresql"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column()  # the runs' start, end and due time alike
    trigger_event_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    trigger_type: Mapped[str | None] = mapped_column(String(200), nullable=True)
    resource: Mapped[str | None] = mapped_column(String(64), nullable=True)
    record_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    depth: Mapped[int] = mapped_column(Integer)
    # the outcomes it holds (the run log's filter): skipped | stopped | succeeded | skipped succeeded
    status: Mapped[str] = mapped_column(String(20))
    workflow_ids: Mapped[str] = mapped_column(Text)  # " id1 id2 ": what a workflow's run log looks for
    # [[workflow_id, version, conditions' results(, what a run that acted did: domain.ended.acted)] | null, ...]
    runs: Mapped[list] = mapped_column(JSON)


event.listen(EndedRuns.__table__, "after_create", DDL(ENDED_WORKFLOW_IDS_STATISTICS).execute_if(dialect="postgresql"))


class WorkflowGeneration(Base):
    """One row: a token that changes with every change of any workflow definition. Each event's intake reads it
    (one primary-key read) and reloads its compiled workflows only when it moved, in every replica alike."""

    __tablename__ = "workflow_generation"

    key: Mapped[str] = mapped_column(String(20), primary_key=True)
    token: Mapped[str] = mapped_column(String(36))


class RecordSnapshot(Base):
    """The last values seen of a record (from its events): what "changed from" compares with."""

    __tablename__ = "record_snapshots"

    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict] = mapped_column(JSON)


class RoundRobin(Base):
    """Whose turn it is next in an assign action's list of people."""

    __tablename__ = "round_robins"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Notification(IdMixin, TimestampMixin, Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user", "user_id", "created_at"),
                      Index("ix_notifications_email", "email_status"))

    user_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    link: Mapped[str | None] = mapped_column(String(500), nullable=True)
    resource: Mapped[str | None] = mapped_column(String(64), nullable=True)
    record_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    read_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # email: none (not wanted), pending, digest (waits for the user's digest), sent, failed
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)  # shown in the inbox (else email only)
    email_status: Mapped[str] = mapped_column(String(20), default="none")


class NotificationPreference(Base):
    __tablename__ = "notification_preferences"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    digest: Mapped[bool] = mapped_column(Boolean, default=False)


class UserAddress(Base):
    """Where a user's email notifications go: fed by identity's user events (a copy, never its table)."""

    __tablename__ = "user_addresses"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    roles: Mapped[list] = mapped_column(JSON, default=list)
    team_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Approval(IdMixin, TimestampMixin, Base):
    """A chain of steps on one record; `steps[i]`: {approver_id | role, decided_by, decision, comment, decided_at}."""

    __tablename__ = "approvals"
    __table_args__ = (Index("ix_approvals_record", "resource", "record_id"), Index("ix_approvals_status", "status"))

    resource: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    requested_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    current_step: Mapped[int] = mapped_column(Integer, default=0)
    steps: Mapped[list] = mapped_column(JSON, default=list)
    history: Mapped[list] = mapped_column(JSON, default=list)
    # who may decide the current step now (ids, after delegation), for the "pending for me" list
    approver_ids: Mapped[list] = mapped_column(JSON, default=list)
    step_started_at: Mapped[datetime] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Delegation(Base):
    __tablename__ = "approval_delegations"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    delegate_id: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime | None] = mapped_column(nullable=True)


class Team(Base):
    """A copy of identity's teams (their managers: the first step of a chain)."""

    __tablename__ = "teams"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    manager_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
