"""Keyset (cursor) pagination for lists: `{"items": [...], "next_cursor": "..." | None}`.

The cursor is opaque to clients (base64 JSON of the last row's sort value and id); sorting is on an
allow-listed column plus `id` as the tie-breaker, so pages never skip or repeat rows.
"""
from __future__ import annotations

import base64
import functools
import json
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import (JSON, DateTime, Text, TypeDecorator, and_, bindparam, cast, inspect, or_, select, type_coerce,
                        union)

from crm_common import prepared
from crm_common.errors import validation


def encode_cursor(value, row_id) -> str:
    if isinstance(value, datetime):
        value = {"dt": value.isoformat()}
    elif isinstance(value, date):  # a calendar day column (an expense's incurred_on)
        value = {"d": value.isoformat()}
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
        try:
            value = datetime.fromisoformat(value["dt"])
        except (TypeError, ValueError):
            raise validation({"cursor": ["not a cursor this API issued"]}) from None
    elif isinstance(value, dict) and "dec" in value:
        value = Decimal(value["dec"])
    elif isinstance(value, dict) and "d" in value:
        try:
            value = date.fromisoformat(value["d"])
        except (TypeError, ValueError):
            raise validation({"cursor": ["not a cursor this API issued"]}) from None
    return value, row_id


def _python_type(column):
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def checked_cursor(model, key: str, cursor: str):
    """The cursor's (value, id), refused with a 422 unless each has the type of its column: a forged cursor
    must not reach the database as a comparison of a number with a text (PostgreSQL raises on that)."""
    value, row_id = decode_cursor(cursor)
    for column, item in ((getattr(model, key), value), (model.id, row_id)):
        expected = _python_type(column)
        if item is None or expected is None:
            continue
        if expected in (Decimal, float):
            expected = (expected, int)
        fits = isinstance(item, expected) and not (isinstance(item, bool) and expected is not bool)
        if expected is date and isinstance(item, datetime):
            fits = False
        if not fits:
            raise validation({"cursor": ["not a cursor this API issued"]})
    return value, row_id


def paginate(session, query, model, sort: str = "-created_at", limit: int = 50, cursor: str | None = None,
             sortable: tuple[str, ...] = ("created_at",), plain: bool = False):
    """Run `query` (a select of `model`) for one page; returns (rows, next_cursor).

    `plain`: the rows are Core row mappings of the model's column attributes (keyed like them: `row["email"]`),
    not ORM objects -- for a page that is only dumped, at about half the cost (no identity map, no instance
    state); `session` may then be a Core connection too (UnitOfWork.read). Not for a model whose output
    schema reads anything but columns (properties, relationships)."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in sortable:
        raise validation({"sort": [f"sort by one of: {', '.join(sortable)}"]})
    if not 1 <= limit <= 200:
        raise validation({"limit": ["between 1 and 200"]})
    column = getattr(model, key)
    id_col = model.id
    if cursor:
        value, row_id = checked_cursor(model, key, cursor)
        if descending:
            query = query.where(or_(column < value, and_(column == value, id_col < row_id)))
        else:
            query = query.where(or_(column > value, and_(column == value, id_col > row_id)))
    order = (column.desc(), id_col.desc()) if descending else (column.asc(), id_col.asc())
    if plain:
        query = query.with_only_columns(*_columns_of(model), maintain_column_froms=True)
    result = session.execute(query.order_by(*order).limit(limit + 1))
    rows = result.mappings().all() if plain else result.scalars().all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(last[key], last["id"]) if plain else encode_cursor(getattr(last, key), last.id)
    return rows, next_cursor


@functools.lru_cache(maxsize=None)
def _columns_of(model) -> tuple:
    return tuple(getattr(model, attr.key).label(attr.key) for attr in inspect(model).column_attrs)


_STATEMENTS: dict = {}  # (model, shape, sort, after a cursor) -> the page's statement (paginate_plain)
_MAX_STATEMENTS = 1024


def paginate_plain(conn, model, shape, build, params: dict, sort: str = "-created_at", limit: int = 50,
                   cursor: str | None = None, sortable: tuple[str, ...] = ("created_at",)):
    """paginate(..., plain=True) for a hot list (its rows plain dicts of the model's column attributes, its
    timestamps as stored: see _read_columns_of): the page's statement is built once per `shape` and sort,
    not on every call, and an OR of conditions is paged one condition at a time.

    On PostgreSQL the statement is prepared once per connection (crm_common.prepared).
    `build()` gives (conditions, alternatives): conditions every row meets, and conditions of which a row
    meets one or more (an empty list: no such choice). Their values are bind parameters given in `params`;
    `shape` is the caller's key for what build() builds (which filters, which scope). With two or more
    alternatives each is paged on its own, by the index that starts with its column, and the pages merged
    (a row that meets two once): one OR would match and sort every visible row for each page (a team's
    leads). The merged pages hold the page: each of its rows is among the first of every alternative it meets.
    A JSON column is read as its text and decoded here, an empty object or list or JSON null (most rows' custom
    fields and tags) without the JSON decoder (the driver's or SQLAlchemy's decoding was a quarter of a page's CPU)."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in sortable:
        raise validation({"sort": [f"sort by one of: {', '.join(sortable)}"]})
    if not 1 <= limit <= 200:
        raise validation({"limit": ["between 1 and 200"]})
    params = {**params, "page_limit": limit + 1}
    if cursor:
        params["cursor_value"], params["cursor_id"] = checked_cursor(model, key, cursor)
    statement_key = (model, shape, sort, bool(cursor))
    built = _STATEMENTS.get(statement_key)
    if built is None:
        if len(_STATEMENTS) >= _MAX_STATEMENTS:
            _STATEMENTS.clear()
        conditions, alternatives = build()
        built = _STATEMENTS[statement_key] = (
            _plain_statement(model, conditions, alternatives, key, descending, bool(cursor)), len(alternatives) > 1)
    statement, _ = built
    names, fetched = prepared.rows(conn, statement, params)
    rows = [dict(zip(names, row)) for row in fetched]  # dicts: what a dump reads fastest
    for name in _json_names(model):  # read as their text (_plain_columns_of)
        for row in rows:
            text = row[name]
            if text is not None:
                row[name] = _EMPTY_JSON[text]() if text in _EMPTY_JSON else json.loads(text)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        value = rows[-1][key]
        if isinstance(value, datetime) and value.tzinfo is None:  # read as stored (see _read_columns_of)
            value = value.replace(tzinfo=timezone.utc)
        next_cursor = encode_cursor(value, rows[-1]["id"])
    return rows, next_cursor


_EMPTY_JSON = {"{}": dict, "[]": list, "null": lambda: None}  # JSON null: a JSON attribute set to None


@functools.lru_cache(maxsize=None)
def _json_names(model) -> tuple[str, ...]:
    return tuple(attr.key for attr in inspect(model).column_attrs if isinstance(attr.columns[0].type, JSON))


@functools.lru_cache(maxsize=None)
def _plain_columns_of(model) -> tuple:
    """_read_columns_of for a plain page: a JSON column is read as its text, decoded by paginate_plain."""
    json_names = _json_names(model)
    return tuple(cast(getattr(model, column.key), Text).label(column.key) if column.key in json_names else column
                 for column in _read_columns_of(model))


@functools.lru_cache(maxsize=None)
def _read_columns_of(model) -> tuple:
    """_columns_of, each column read with its stored type: a timestamp column of a type that makes it aware
    (crm_common.types.UTCDateTime) comes as the driver gives it, naive in UTC on SQLite; what dumps it
    (Timestamp, rfc3339) takes a naive value as UTC, and paging itself turns it aware."""
    columns = []
    for attr in inspect(model).column_attrs:
        column = getattr(model, attr.key)
        kind = attr.columns[0].type
        if isinstance(kind, TypeDecorator) and isinstance(kind.impl_instance, DateTime):
            column = type_coerce(column, kind.impl_instance)
        columns.append(column.label(attr.key))
    return tuple(columns)


def _plain_statement(model, conditions, alternatives, key: str, descending: bool, after: bool):
    column, id_col = getattr(model, key), model.id

    def ordered(query, sort_col, sort_id):
        return query.order_by(*((sort_col.desc(), sort_id.desc()) if descending else (sort_col.asc(), sort_id.asc())))

    def one_page(columns, extra):
        query = select(*columns).where(*conditions, *extra)
        if after:
            value, row_id = bindparam("cursor_value"), bindparam("cursor_id")
            if descending:
                query = query.where(or_(column < value, and_(column == value, id_col < row_id)))
            else:
                query = query.where(or_(column > value, and_(column == value, id_col > row_id)))
        return ordered(query, column, id_col).limit(bindparam("page_limit"))

    if len(alternatives) < 2:
        return one_page(_plain_columns_of(model), alternatives)
    # each alternative's first rows by its index, as their sort value and id only, merged (UNION: a row that
    # two give is one row) and the page's ids taken from them; then the page's rows read by id. A UNION of
    # whole rows compared every column of every row (on PostgreSQL, twice the database's CPU of the page)
    keys = union(*[select(*one_page((column.label("sort_value"), id_col.label("id")), [alternative]).subquery().c)
                   for alternative in alternatives]).subquery()
    page = ordered(select(keys.c.sort_value, keys.c.id), keys.c.sort_value, keys.c.id)
    page = page.limit(bindparam("page_limit")).subquery()
    query = select(*_plain_columns_of(model)).join_from(model, page, id_col == page.c.id)
    return ordered(query, page.c.sort_value, page.c.id)
