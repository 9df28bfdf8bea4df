"""A list of records filtered and sorted by their custom fields (`?custom.<name>=`, `sort=custom.<name>`).

`page(ctx-less session, query, model, ...)` applies the custom conditions to the service's scoped query;
a sort on a custom field pages by offset (the cursor carries it: a JSON value has no keyset index), any
other sort is the service's usual keyset paging (crm_common.paging).
"""
from __future__ import annotations

from sqlalchemy import nulls_last

from crm_common import paging
from crm_common.errors import validation
from crm_common.records import custom_fields as cf


def page(session, metadata, resource: str, model, query, args: dict, sortable: tuple[str, ...]) -> dict:
    """One page of `query` (a select of `model`, already scoped and filtered by the service) with the custom
    filters in `args["custom"]` and its sort (custom or not)."""
    for condition in cf.filters(session, metadata, resource, model, args.get("custom") or {}):
        query = query.where(condition)
    sort, limit = args.get("sort") or "-created_at", args.get("limit") or 50
    custom = cf.sort_expression(session, metadata, resource, model, sort)
    if custom is None:
        rows, cursor = paging.paginate(session, query, model, sort=sort, limit=limit, cursor=args.get("cursor"),
                                       sortable=sortable)
        return {"items": rows, "next_cursor": cursor}
    expression, descending = custom
    offset = 0
    if args.get("cursor"):
        value, marker = paging.decode_cursor(args["cursor"])
        if marker != "offset" or not isinstance(value, int) or value < 0:
            raise validation({"cursor": ["not a cursor this API issued"]})
        offset = value
    order = (nulls_last(expression.desc()), model.id.desc()) if descending else (nulls_last(expression.asc()),
                                                                                 model.id.asc())
    rows = session.execute(query.order_by(*order).offset(offset).limit(limit + 1)).scalars().all()
    cursor = paging.encode_cursor(offset + limit, "offset") if len(rows) > limit else None
    return {"items": rows[:limit], "next_cursor": cursor}
