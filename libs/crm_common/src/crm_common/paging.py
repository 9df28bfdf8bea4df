"""Keyset (cursor) pagination for lists: `{"items": [...], "next_cursor": "..." | None}`.

The cursor is opaque to clients (base64 JSON of the last row's sort value and id); sorting is on an
allow-listed column plus `id` as the tie-breaker, so pages never skip or repeat rows.
"""
from __future__ import annotations

import base64
import json
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, or_

from crm_common.errors import validation


def encode_cursor(value, row_id) -> str:
    if isinstance(value, datetime):
        value = {"dt": value.isoformat()}
    elif isinstance(value, Decimal):
        value = {"dec": str(value)}
    raw = json.dumps([value, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str):
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except Exception:
        raise validation({"cursor": ["not a cursor this API issued"]}) from None
    if isinstance(value, dict) and "dt" in value:
        value = datetime.fromisoformat(value["dt"])
    elif isinstance(value, dict) and "dec" in value:
        value = Decimal(value["dec"])
    return value, row_id


def paginate(session, query, model, sort: str = "-created_at", limit: int = 50, cursor: str | None = None,
             sortable: tuple[str, ...] = ("created_at",)):
    """Run `query` (a select of `model`) for one page; returns (rows, next_cursor)."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in sortable:
        raise validation({"sort": [f"sort by one of: {', '.join(sortable)}"]})
    if not 1 <= limit <= 200:
        raise validation({"limit": ["between 1 and 200"]})
    column = getattr(model, key)
    id_col = model.id
    if cursor:
        value, row_id = decode_cursor(cursor)
        if descending:
            query = query.where(or_(column < value, and_(column == value, id_col < row_id)))
        else:
            query = query.where(or_(column > value, and_(column == value, id_col > row_id)))
    order = (column.desc(), id_col.desc()) if descending else (column.asc(), id_col.asc())
    rows = session.execute(query.order_by(*order).limit(limit + 1)).scalars().all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(getattr(last, key), last.id)
    return rows, next_cursor
