"""Idempotent consumption: an event id is recorded in the same transaction as its effect."""
from __future__ import annotations

import functools

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from crm_common import tables
from crm_common.db import utcnow

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def claim(session: Session, metadata, envelope: dict) -> bool:
    """Record the event as processed in the session's transaction; False if it already was.

    One statement (INSERT ... ON CONFLICT DO NOTHING) instead of a lookup and an insert. Two consumers
    racing on a redelivered event: on PostgreSQL the second waits for the first's transaction and then
    finds the id taken; on SQLite writers are serialized. A rolled-back handler rolls its claim back too.
    """
    statement = _claim_statement(metadata.tables[tables.INBOX], session.get_bind().dialect.name)
    result = session.execute(statement, {"event_id": envelope["event_id"], "type": envelope["type"],
                                         "processed_at": utcnow()})
    return result.rowcount == 1


@functools.lru_cache(maxsize=None)
def _claim_statement(table, dialect: str):
    """Built once: a statement built per event costs its cache key again on every execution."""
    return _INSERTS[dialect](table).on_conflict_do_nothing(index_elements=["event_id"])

