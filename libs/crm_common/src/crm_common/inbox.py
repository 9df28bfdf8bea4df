"""Idempotent consumption: an event id is recorded in the same transaction as its effect."""
from __future__ import annotations

from sqlalchemy.orm import Session

from crm_common import tables
from crm_common.db import insert_or_skip, utcnow


def claim(session: Session, metadata, envelope: dict) -> bool:
    """Record the event as processed in the session's transaction; False if it already was.

    One statement (INSERT ... ON CONFLICT DO NOTHING) instead of a lookup and an insert. Two consumers
    racing on a redelivered event: on PostgreSQL the second waits for the first's transaction and then
    finds the id taken; on SQLite writers are serialized. A rolled-back handler rolls its claim back too.
    """
    statement = insert_or_skip(metadata.tables[tables.INBOX], ("event_id",))
    result = session.execute(statement, {"event_id": envelope["event_id"], "type": envelope["type"],
                                         "processed_at": utcnow()})
    return result.rowcount == 1


