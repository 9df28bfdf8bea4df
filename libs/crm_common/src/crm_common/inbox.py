"""Idempotent consumption: an event id is recorded in the same transaction as its effect."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_common import tables
from crm_common.db import utcnow


def seen(session: Session, metadata, event_id: str) -> bool:
    table = metadata.tables[tables.INBOX]
    return session.execute(select(table.c.event_id).where(table.c.event_id == event_id)).first() is not None


def mark(session: Session, metadata, envelope: dict) -> None:
    table = metadata.tables[tables.INBOX]
    session.execute(table.insert().values(event_id=envelope["event_id"], type=envelope["type"],
                                          processed_at=utcnow()))
