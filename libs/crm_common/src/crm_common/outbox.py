"""Transactional outbox: events are rows written in the business transaction, published after commit.

A relay publishes whatever a crash left behind; rows are claimed with FOR UPDATE SKIP LOCKED so
several replicas can relay at once without publishing the same row twice (SQLite serializes writers).
"""
from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crm_common import tables
from crm_common.contracts import validate_event_data
from crm_common.context import Actor
from crm_common.db import utcnow
from crm_common.envelope import make_envelope

log = logging.getLogger(__name__)


def _table(metadata):
    return metadata.tables[tables.OUTBOX]


def record(session: Session, metadata, producer: str, type_: str, data: dict, actor: Actor | None,
           request_id: str | None) -> dict:
    """Add the event to the outbox in the session's transaction; returns the envelope."""
    errors = validate_event_data(type_, data)
    if errors:
        raise ValueError(f"event {type_} does not match its contract: {errors}")
    envelope = make_envelope(type_, data, producer, actor, request_id)
    session.execute(_table(metadata).insert().values(
        event_id=envelope["event_id"], type=type_, envelope=envelope, created_at=utcnow()))
    session.info.setdefault("crm_outbox", []).append(envelope["event_id"])
    return envelope


def publish_pending(engine: Engine, metadata, publisher, event_ids: list[str] | None = None,
                    limit: int = 500) -> int:
    """Claim unpublished rows (all, or the given ids), publish them, mark them. Returns how many."""
    table = _table(metadata)
    query = select(table.c.id, table.c.envelope).where(table.c.published_at.is_(None))
    if event_ids is not None:
        if not event_ids:
            return 0
        query = query.where(table.c.event_id.in_(event_ids))
    query = query.order_by(table.c.id).limit(limit)
    if engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    published = 0
    error = None
    with engine.begin() as conn:
        done = []
        for row in conn.execute(query).all():
            try:
                publisher.publish(row.envelope)
            except Exception as exc:  # the broker is away: what is left stays for the relay
                error = exc
                break
            done.append(row.id)
        if done:
            conn.execute(update(table).where(table.c.id.in_(done)).values(published_at=utcnow()))
            published = len(done)
    if error is not None:
        raise error
    return published


def unpublished_count(engine: Engine, metadata) -> int:
    from sqlalchemy import func
    table = _table(metadata)
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(table.c.published_at.is_(None))).scalar()
