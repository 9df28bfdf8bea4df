"""The kernel's own tables, added to every service's metadata (and so to its migrations)."""
from __future__ import annotations

from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, Text

from crm_common.types import UTCDateTime

OUTBOX = "crm_outbox"
INBOX = "crm_inbox"
DEAD_LETTERS = "crm_dead_letters"
IDEMPOTENCY = "crm_idempotency"


def install(metadata: MetaData) -> None:
    """Define the outbox, inbox, dead-letter and idempotency tables on a service's metadata."""
    if OUTBOX in metadata.tables:
        return
    Table(
        OUTBOX, metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("type", String(120), nullable=False),
        Column("envelope", JSON, nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("published_at", UTCDateTime(), nullable=True, index=True),
    )
    Table(
        INBOX, metadata,
        Column("event_id", String(36), primary_key=True),
        Column("type", String(120), nullable=False),
        Column("processed_at", UTCDateTime(), nullable=False),
    )
    Table(
        DEAD_LETTERS, metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, index=True),
        Column("type", String(120), nullable=False),
        Column("queue", String(200), nullable=False),
        Column("envelope", JSON, nullable=False),
        Column("error", Text, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("replayed_at", UTCDateTime(), nullable=True),
    )
    Table(  # the Idempotency-Key of a call kept with its answer, in the call's transaction (crm_common.idempotency)
        IDEMPOTENCY, metadata,
        Column("owner_id", String(64), primary_key=True),
        Column("key", String(200), primary_key=True),
        Column("method", String(120), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("answer", Text, nullable=False),
        Column("created_at", UTCDateTime(), nullable=False, index=True),
    )
