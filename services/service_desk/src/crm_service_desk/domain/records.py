"""Small helpers shared by the service desk's domain modules (no business rules here)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_common.context import Actor
from crm_common.db import utcnow
from crm_common.errors import ServiceError, not_found, validation
from crm_common.paging import paginate
from crm_common.versioning import check_version


def now() -> datetime:
    return utcnow()


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def is_customer(actor: Actor) -> bool:
    return actor.kind == "customer" or ("customer" in actor.roles and actor.kind != "system")


def need(actor: Actor, resource: str, action: str) -> str:
    """The actor's scope for (resource, action); forbidden when the role has none."""
    scope = actor.scope(resource, action)
    if scope == "none":
        raise ServiceError("forbidden", f"your role may not {action} {resource.replace('_', ' ')}")
    return scope


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
    rows, cursor = paginate(session, query, model, args.get("sort") or "-created_at", args.get("limit") or 50,
                            args.get("cursor"), sortable)
    return {"items": rows, "next_cursor": cursor}


def require_fields(data: dict, *names: str) -> None:
    missing = {n: ["required"] for n in names if data.get(n) in (None, "")}
    if missing:
        raise validation(missing)
