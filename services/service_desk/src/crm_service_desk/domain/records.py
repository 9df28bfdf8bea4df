"""Helpers every domain module shares for its records: the clock, one timestamp format, who is a
customer, loading a live record, applying a change with its version check, and a page of a list."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_common.context import Actor
from crm_common.db import utcnow
from crm_common.envelope import rfc3339
from crm_common.errors import not_found
from crm_common.paging import paginate
from crm_common.versioning import check_version


def now() -> datetime:
    return utcnow()


def timestamp(value: datetime | None) -> str | None:
    """The one timestamp format (the kernel's RFC 3339 with microseconds), for event data and exports."""
    return rfc3339(value) if value is not None else None


def is_customer(actor: Actor) -> bool:
    return actor.kind == "customer" or ("customer" in actor.roles and actor.kind != "system")


def load(session: Session, model, record_id: str, what: str, for_update: bool = False):
    """A live (not soft-deleted) record by id, or not_found."""
    query = select(model).where(model.id == record_id)
    if hasattr(model, "deleted_at"):
        query = query.where(model.deleted_at.is_(None))
    if for_update and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    record = session.execute(query).scalar_one_or_none()
    if record is None:
        raise not_found(what)
    return record


def soft_delete(record, expected_version: int | None = None) -> None:
    """Mark a record deleted (If-Match on a DELETE, when the gateway passes it on, is checked first)."""
    check_version(record, expected_version)
    record.deleted_at = now()


def apply_changes(record, changes: dict, expected_version: int | None = None) -> list[str]:
    """Set the fields that differ; returns their names (the event's changed_fields)."""
    check_version(record, expected_version)
    changed = []
    for name, value in changes.items():
        if getattr(record, name) != value:
            setattr(record, name, value)
            changed.append(name)
    return changed


def page(session: Session, query, model, args: dict, sortable: tuple[str, ...]) -> dict:
    """`{"items", "next_cursor"}` of a list's query (`args`: its ListQuery, `sortable`: the query's SORTABLE)."""
    rows, cursor = paginate(session, query, model, args.get("sort") or "-created_at", args.get("limit") or 50,
                            args.get("cursor"), sortable)
    return {"items": rows, "next_cursor": cursor}
