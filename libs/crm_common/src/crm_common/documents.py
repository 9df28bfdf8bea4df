"""Many rows sent as one parameter of one PostgreSQL statement: the rows' JSON document, and a SELECT over it
(`document`) that an INSERT takes as its source (`bulk.RowsInsert`) or joins to something else
(`inbox.claim_and_insert_many`): the one way to do that here. `JSONText` and `TimeText` declare a column whose
value is given as its text already."""
from __future__ import annotations

import functools
from datetime import datetime

import orjson
from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Enum, Integer, Numeric, String, Text
from sqlalchemy.types import TypeDecorator


class JSONText(TypeDecorator):
    """A JSON column given to `RowsInsert` as its text already serialized (stored as that text)."""

    impl = Text
    cache_ok = True


class TimeText(TypeDecorator):
    """A timestamp with time zone given to `RowsInsert` as its ISO text (with its offset)."""

    impl = Text
    cache_ok = True


class Document:
    """On PostgreSQL, many rows of some of a table's columns sent as one parameter: the rows' JSON text (lists in
    the columns' order), read back by the server column by column (`select`: a SELECT of the columns, named as
    they are, over the document's elements, its one parameter `%s`; an INSERT takes it as its source, or joins it
    to something else). psycopg2 adapts and quotes each parameter of a multi-row VALUES, or each element of an
    array, one at a time (about 0.5 us a value), where the document is written by orjson in one call and quoted
    once. Each value is what the column's bind processing makes of it, read back as its own text: a string as
    itself, a number, a boolean, a time as its ISO text (with its offset) cast to its column's type, null as NULL;
    a JSON column's value as the JSON text the column binds (of None too, as the Core binds it: JSON null unless
    the column says none_as_null), stored as that text; one given as text (`JSONText`) as it is."""

    def __init__(self, table, names: tuple[str, ...], casts: list[str], dialect):
        preparer = dialect.identifier_preparer
        picks = [f"r->>{i}" if not cast else f"CAST(r->>{i} AS {cast})" for i, cast in enumerate(casts)]
        self.select = (f"SELECT {', '.join(f'{pick} AS {preparer.quote(name)}' for pick, name in zip(picks, names))}"
                       " FROM jsonb_array_elements(CAST(%s AS jsonb)) AS r")
        self.converters = [(i, convert) for i, convert in
                           enumerate(_to_document(table.c[name], dialect) for name in names) if convert is not None]

    def parameter(self, rows: list[list]) -> str | None:
        """The rows' document (the rows are left as they are); None when a value is one the document does not
        carry as it is (a Decimal, a subclass of str or int, a date in a text column...): the caller binds the rows
        another way."""
        if self.converters:
            rows = [list(row) for row in rows]
            try:
                convert_columns(rows, self.converters)
            except TypeError:  # a value the document does not carry (`_to_document`)
                return None
        try:
            return orjson.dumps(rows, default=_refuse, option=_AS_GIVEN).decode()
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            return None


@functools.lru_cache(maxsize=None)
def document(table, names: tuple[str, ...], dialect) -> Document | None:
    """The `Document` of `table`'s columns `names` on PostgreSQL, built once; None elsewhere, or when a column's
    type is one the document does not carry (`_document_cast`)."""
    if dialect.name != "postgresql":
        return None
    casts = [_document_cast(table.c[name]) for name in names]
    if any(cast is None for cast in casts):
        return None
    return Document(table, names, casts, dialect)


# orjson writes str, int, bool and None as JSON gives them back; anything else (a datetime left as it is, a Decimal,
# a dataclass, a subclass of str or int) goes to `_refuse`, and the rows are bound another way
_AS_GIVEN = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


def _refuse(value):
    raise TypeError(value.__class__.__name__)


def _document_cast(column) -> str | None:
    """How the text of a column's value is read back from a `Document` (a cast, "" for a string type); None for a
    type the document does not carry."""
    kind = column.type
    if isinstance(kind, JSONText):
        return "json"
    if isinstance(kind, TimeText):
        return "timestamp with time zone"
    while isinstance(kind, TypeDecorator):  # what it binds as (UTCDateTime: a timestamp with time zone)
        kind = kind.impl_instance
    if isinstance(kind, JSON):  # its value as the JSON text the column binds (`_to_document`)
        return "jsonb" if getattr(kind, "__visit_name__", "") == "JSONB" else "json"
    if isinstance(kind, (Enum, Numeric)) or not isinstance(kind, (String, Integer, Boolean, DateTime)):
        return None
    if isinstance(kind, String):  # Text too: the text as it is (its length checked by the insert, never cut)
        return ""
    if isinstance(kind, Boolean):
        return "boolean"
    if isinstance(kind, Integer):
        return "bigint" if isinstance(kind, BigInteger) else "integer"
    return "timestamp with time zone" if kind.timezone else "timestamp without time zone"


def is_json(column) -> bool:
    """A JSON column given as its value (not as its text, `JSONText`)."""
    kind = column.type
    while isinstance(kind, TypeDecorator) and not isinstance(kind, JSONText):
        kind = kind.impl_instance
    return isinstance(kind, JSON)


def _to_document(column, dialect):
    """value -> what a `Document` carries of it for `column` (raising TypeError for a value it does not carry), or
    None where the value goes as it is: the column's bind processing; a JSON column's for None too (the Core binds
    None there as JSON null, unless the column says none_as_null); a time as its ISO text (cast back as psycopg2's
    value would be read; but a time with an offset for a timestamp without time zone is not carried: the cast
    would drop the offset, where psycopg2's value is converted to the session's time zone)."""
    process = column.type._cached_bind_processor(dialect)
    kind = column.type
    while isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, DateTime) and not isinstance(column.type, TimeText):
        def as_text(value):
            if process is not None and value is not None:
                value = process(value)
            if value.__class__ is datetime:
                if value.tzinfo is not None and not kind.timezone:
                    raise TypeError("a time with an offset for a timestamp without time zone")
                return value.isoformat()
            return value
        return as_text
    return bound(column, dialect)


def bound(column, dialect):
    """value -> what the column's bind processing makes of it, None kept as NULL but for a JSON column (the Core
    binds None there as JSON null, unless the column says none_as_null); None for a column that binds values as
    they are."""
    process = column.type._cached_bind_processor(dialect)
    if process is None or is_json(column):
        return process
    return lambda value: value if value is None else process(value)


def convert_columns(rows: list[list], converters: list[tuple[int, object]]) -> None:
    """Each row's value at index i replaced, in place, by convert(value), for each (i, convert) of `converters`:
    each distinct value object converted once per column and call (the runs of an event share their times and
    texts; the rows keep every value alive meanwhile, so an id stays its object's)."""
    for i, convert in converters:
        done: dict[int, object] = {}  # id of a value -> what it became
        for row in rows:
            value = row[i]
            out = done.get(id(value), done)
            if out is done:
                out = done[id(value)] = convert(value)
            row[i] = out
