"""Alembic operations for the kernel's tables, shared by every service's first revision."""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crm_common.types import UTCDateTime


def create_kernel_tables() -> None:
    op.create_table(
        "crm_dead_letters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=120), nullable=False),
        sa.Column("queue", sa.String(length=200), nullable=False),
        sa.Column("envelope", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("replayed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_crm_dead_letters_event_id", "crm_dead_letters", ["event_id"], unique=False)
    op.create_table(
        "crm_inbox",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=120), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_table(
        "crm_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=120), nullable=False),
        sa.Column("envelope", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index("ix_crm_outbox_published_at", "crm_outbox", ["published_at"], unique=False)


def drop_kernel_tables() -> None:
    op.drop_index("ix_crm_outbox_published_at", table_name="crm_outbox")
    op.drop_table("crm_outbox")
    op.drop_table("crm_inbox")
    op.drop_index("ix_crm_dead_letters_event_id", table_name="crm_dead_letters")
    op.drop_table("crm_dead_letters")


def create_idempotency_table() -> None:
    """The kernel's `crm_idempotency` (crm_common.idempotency), added to every service after its first revision."""
    op.create_table(
        "crm_idempotency",
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=120), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "key"),
    )
    op.create_index("ix_crm_idempotency_created_at", "crm_idempotency", ["created_at"], unique=False)


def drop_idempotency_table() -> None:
    op.drop_index("ix_crm_idempotency_created_at", table_name="crm_idempotency")
    op.drop_table("crm_idempotency")
