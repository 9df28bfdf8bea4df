"""What every sales record shares: scoped loading, lists, partial updates, soft delete, the audit event.

`reader(...)`, `lister(...)` and `deleter(...)` make a resource's plain get, list and delete functions
(`fn(ctx, record_id)`, `fn(ctx, query)`), so each module declares them in one line.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import bindparam, or_, select

import crm_sales_contracts as c
from crm_common import paging, scope
from crm_common.db import utcnow
from crm_common.envelope import rfc3339
from crm_common.errors import not_found
from crm_common.records import custom_fields, lists
from crm_common.versioning import check_version

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

PAGING = ("limit", "cursor", "sort", "q")


def load(ctx: Context, resource: str, model, record_id: str, action: str = "read", what: str | None = None):
    """The live record if the caller may `action` it; 404 when missing, deleted or out of read scope."""
    record = ctx.session.get(model, record_id) if record_id else None
    if record is None or getattr(record, "deleted_at", None) is not None:
        raise not_found(what or resource)
    return scope.require(ctx.caller, resource, action, record, what)


def load_for_update(ctx: Context, resource: str, model, record_id: str, expected_version: int | None):
    record = load(ctx, resource, model, record_id, "update")
    check_version(record, expected_version)
    return record


def page(ctx: Context, resource: str, model, args: dict, sortable: tuple[str, ...], search: tuple = (),
         query=None, plain: bool = False) -> dict:
    """One page of visible, live records; every non-paging arg is an equality filter on a column. `plain`:
    the items are row mappings read outside the write transaction (for a resource whose output schema
    reads only columns), by a statement built once per shape of the query (paging.paginate_plain).
    `custom` filters and a `custom.<name>` sort page through crm_common.records.lists."""
    custom, tag = args.pop("custom", None) or {}, args.pop("tag", None)
    by_custom = bool(custom or tag) or (args.get("sort") or "").lstrip("-").startswith("custom.")
    plain = plain and not by_custom
    if plain and query is None:
        return _plain_page(ctx, resource, model, args, sortable, search)
    query = query if query is not None else select(model)
    query = scope.visible(query, ctx.caller, resource, "read", model)
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
    if tag:
        query = query.where(custom_fields.json_contains(ctx.session, model.tags, tag))
    if by_custom:
        return lists.page(ctx.session, model.metadata, resource, model, query, {**args, "custom": custom}, sortable)
    rows, cursor = paging.paginate(ctx.session, query, model, sort=args.get("sort") or "-created_at",
                                   limit=args.get("limit") or 50, cursor=args.get("cursor"), sortable=sortable)
    return {"items": rows, "next_cursor": cursor}


def _plain_page(ctx: Context, resource: str, model, args: dict, sortable: tuple[str, ...], search: tuple) -> dict:
    shape, alternatives, params = scope.alternatives(ctx.caller, resource, "read", model)
    filters = tuple(sorted(name for name, value in args.items() if name not in PAGING and value is not None))
    params.update({f"filter_{name}": args[name] for name in filters})
    text = (args.get("q") or "").strip()
    searching = bool(text and search)
    if searching:
        params["search"] = f"%{text.lower()}%"

    def build():
        conditions = [model.deleted_at.is_(None)] if hasattr(model, "deleted_at") else []
        conditions += [getattr(model, name) == bindparam(f"filter_{name}") for name in filters]
        if searching:
            conditions.append(or_(*[column.ilike(bindparam("search")) for column in search]))
        return conditions, alternatives()

    with ctx.read() as conn:
        rows, cursor = paging.paginate_plain(conn, model, (resource, shape, filters, searching), build, params,
                                             sort=args.get("sort") or "-created_at", limit=args.get("limit") or 50,
                                             cursor=args.get("cursor"), sortable=sortable)
    return {"items": rows, "next_cursor": cursor}


def reader(resource: str, model):
    def get(ctx: Context, record_id: str):
        return load(ctx, resource, model, record_id)
    get.__doc__ = f"The {resource} if the caller may read it (404 otherwise)."
    return get


def lister(resource: str, model, sortable: tuple[str, ...], search: tuple = ()):
    def listed(ctx: Context, query: dict) -> dict:
        return page(ctx, resource, model, query, sortable, search)
    listed.__doc__ = f"One page of the {resource} records the caller may read."
    return listed


def deleter(resource: str, model, guard=None):
    def deleted(ctx: Context, record_id: str, expected_version: int | None = None) -> None:
        delete(ctx, resource, model, record_id, guard, expected_version)
    deleted.__doc__ = f"Soft-delete a {resource} the caller may delete, and announce it."
    return deleted


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


def snapshot(record, names: tuple[str, ...]) -> dict:
    """The current values of `names` (compare with `changed_since` after derived fields were recomputed)."""
    return {name: getattr(record, name) for name in names}


def changed_since(record, before: dict) -> list[str]:
    return [name for name, value in before.items() if getattr(record, name) != value]


def timestamp(value) -> str | None:
    """A datetime as the one timestamp format of routes and events (`2026-11-23T08:00:00.000000Z`)."""
    return rfc3339(value) if value is not None else None


def soft_delete(record) -> None:
    record.deleted_at = utcnow()


def delete(ctx: Context, resource: str, model, record_id: str, guard=None, expected_version: int | None = None) -> None:
    """Soft-delete a record the caller may delete (`guard(record)` may refuse first) and announce it; a stale
    `expected_version` (If-Match) is a 412."""
    record = load(ctx, resource, model, record_id, "delete")
    check_version(record, expected_version)
    if guard is not None:
        guard(record)
    soft_delete(record)
    changed(ctx, resource, record.id, "delete")


def changed(ctx: Context, entity: str, record_id: str, action: str, fields=()) -> None:
    """`sales.record_changed.v1` for a record that has no event of its own, so that the change reaches the audit
    trail: the resource, the record, the action and, for updates, the names of the changed fields (never values).
    An update that changed nothing is not announced. Call it after every check, in the change's transaction."""
    fields = list(dict.fromkeys(fields))
    if action == "update" and not fields:
        return
    ctx.emit(c.RECORD_CHANGED, {"entity": entity, "id": record_id, "action": action, "changed_fields": fields})
