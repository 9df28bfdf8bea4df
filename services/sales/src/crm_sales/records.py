"""What every sales record shares: scoped loading, lists, partial updates, soft delete."""
from __future__ import annotations

from sqlalchemy import or_, select

from crm_common import paging, scope
from crm_common.context import Actor
from crm_common.db import utcnow
from crm_common.errors import not_found
from crm_common.versioning import check_version

PAGING = ("limit", "cursor", "sort", "q")


def load(session, actor: Actor, resource: str, model, record_id: str, action: str = "read", what: str | None = None):
    """The live record if the actor may `action` it; 404 when missing, deleted or out of read scope."""
    record = session.get(model, record_id) if record_id else None
    if record is None or getattr(record, "deleted_at", None) is not None:
        raise not_found(what or resource)
    return scope.require(actor, resource, action, record, what)


def load_for_update(session, actor: Actor, resource: str, model, record_id: str, expected_version: int | None):
    record = load(session, actor, resource, model, record_id, "update")
    check_version(record, expected_version)
    return record


def page(session, actor: Actor, resource: str, model, args: dict, sortable: tuple[str, ...],
         search: tuple = (), query=None) -> dict:
    """One page of visible, live records; every non-paging arg is an equality filter on a column."""
    query = query if query is not None else select(model)
    query = scope.visible(query, actor, resource, "read", model)
    if hasattr(model, "deleted_at"):
        query = query.where(model.deleted_at.is_(None))
    for name, value in args.items():
        if name in PAGING or value is None:
            continue
        query = query.where(getattr(model, name) == value)
    text = (args.get("q") or "").strip()
    if text and search:
        pattern = f"%{text.lower()}%"
        query = query.where(or_(*[column.ilike(pattern) for column in search]))
    rows, cursor = paging.paginate(session, query, model, sort=args.get("sort") or "-created_at",
                                   limit=args.get("limit") or 50, cursor=args.get("cursor"), sortable=sortable)
    return {"items": rows, "next_cursor": cursor}


def apply(record, data: dict, fields: tuple[str, ...] | None = None) -> list[str]:
    """Set the given fields; returns the names of those whose value changed."""
    changed = []
    for name, value in data.items():
        if fields is not None and name not in fields:
            continue
        if getattr(record, name) != value:
            setattr(record, name, value)
            changed.append(name)
    return changed


def soft_delete(record) -> None:
    record.deleted_at = utcnow()
