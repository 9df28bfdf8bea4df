"""Bulk inserts of many rows in the caller's transaction: COPY on PostgreSQL, a multi-row INSERT elsewhere
(`insert_rows`, `prepare`); and `rows_insert` for small batches of rows given as lists (on PostgreSQL as one
JSON document: `crm_common.documents`).

COPY skips what an INSERT costs per row on the server (parsing and planning a statement, a bind value
per column). Rows go through each column's own bind processing (UTC datetimes, JSON) and Python-side
defaults, exactly as `session.execute(insert(table), rows)` would apply them, and commit or roll back
with the transaction.

Under eventlet (every service), psycopg2 runs with a wait callback that makes it cooperative, and
psycopg2 refuses COPY while one is set: the callback is cleared for the COPY alone. The COPY then blocks
the process's event loop while it runs (one batch); since no other green thread runs meanwhile, none
sees psycopg2 without its callback.
"""
from __future__ import annotations

import functools
import io
import itertools
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import Table, insert

from crm_common.documents import bound, convert_columns, document


def insert_rows(session, table: Table, rows: list[dict], memo: dict | None = None) -> None:
    """Insert `rows` (dicts keyed by column name, all with the same keys) into `table`."""
    prepare(session.get_bind().dialect, table, rows, memo)(session)


def prepare(dialect, table: Table, rows: list[dict], memo: dict | None = None) -> Callable:
    """The insert of `rows` made ready (on PostgreSQL the COPY text formatted): a function `write(session,
    meanwhile=None)` that sends it in the session's transaction. A job formats its next batch while the last one is
    written. `meanwhile`: a function of the caller's run while the server takes the rows (once they are sent, before
    the COPY's end is awaited), touching no connection (`_Then`; elsewhere after the insert). `memo`: a
    dict the caller passes to the inserts of one batch into several tables: the COPY text of a value that is not
    a string is remembered across them, per column type (rows of several tables made from the same events share
    their times)."""
    if not rows:
        return functools.partial(_insert, None, rows)
    if dialect.name != "postgresql":
        return functools.partial(_insert, table, rows)
    names = list(rows[0])
    defaults = {column: _python_default(column) for column in table.columns if column.name not in rows[0]}
    defaults = {column: default for column, default in defaults.items() if default is not None}
    columns = [table.c[name] for name in names] + list(defaults)
    converters = [_converter(column.type.bind_processor(dialect),
                             None if memo is None else memo.setdefault(_type_key(column), {})) for column in columns]
    makers = list(defaults.values())
    end = "\n"
    if makers and all(column.default.is_scalar for column in defaults):  # the same text on every row: once
        end = "".join("\t" + convert(make()) for convert, make in zip(converters[len(names):], makers)) + end
        converters, makers = converters[:len(names)], []
    buffer = io.StringIO()
    write = buffer.write
    for row in rows:
        values = [row[name] for name in names]
        if makers:
            values += [make() for make in makers]
        write("\t".join([convert(value) for convert, value in zip(converters, values)]))
        write(end)
    buffer.seek(0)
    preparer = dialect.identifier_preparer
    statement = (f"COPY {preparer.format_table(table)} ({', '.join(preparer.quote(c.name) for c in columns)}) "
                 "FROM STDIN")

    def copy(session, meanwhile: Callable | None = None) -> None:
        source = buffer if meanwhile is None else _Then(buffer, meanwhile)
        with session.connection().connection.driver_connection.cursor() as cursor, _without_wait_callback():
            try:
                cursor.copy_expert(statement, source)
            except Exception as error:
                if source is not buffer and source.error is not None:  # the batch fails on the COPY's error
                    error.add_note(f"and meanwhile: {source.error!r}")
                raise
        if source is not buffer and source.error is not None:
            raise source.error

    return copy


class _Then:
    """The COPY's text, then `meanwhile()` once every row is sent (psycopg2 reads its file until it gives nothing):
    the caller's work runs while the server takes the rows, on no connection (the COPY holds it) and without
    yielding (under eventlet no other green thread runs while the wait callback is cleared: the COPY blocks the hub
    as it does without it). What it raises is raised once the COPY has ended (the caller's transaction then rolls
    back the rows with whatever else failed), so psycopg2 never sees it."""

    def __init__(self, buffer: io.StringIO, meanwhile: Callable):
        self.buffer, self.meanwhile, self.error = buffer, meanwhile, None

    def read(self, size: int = -1) -> str:
        text = self.buffer.read(size)
        if text or self.meanwhile is None:
            return text
        meanwhile, self.meanwhile = self.meanwhile, None
        try:
            meanwhile()
        except BaseException as error:  # raised by `copy` once the COPY has ended (nothing lost)
            self.error = error
        return ""


def _insert(table: Table | None, rows: list[dict], session, meanwhile: Callable | None = None) -> None:
    if rows:
        session.connection().execute(insert(table), rows)
    if meanwhile is not None:
        meanwhile()


@contextmanager
def _without_wait_callback():
    from psycopg2 import extensions
    callback = extensions.get_wait_callback()
    if callback is None:
        yield
        return
    extensions.set_wait_callback(None)
    try:
        yield
    finally:
        extensions.set_wait_callback(callback)


def _python_default(column):
    """A zero-argument callable giving the column's Python-side default, or None."""
    default = column.default
    if default is None or getattr(default, "is_sequence", False) or getattr(default, "is_clause_element", False):
        return None
    if default.is_scalar:
        return lambda: default.arg
    return lambda: default.arg(None)  # SQLAlchemy wraps a no-argument callable to take the context


_TYPE_KEYS: dict = {}  # column -> its type's class and arguments (what its bind processing depends on)


def _type_key(column) -> tuple:
    key = _TYPE_KEYS.get(column)
    if key is None:
        key = _TYPE_KEYS[column] = (type(column.type), repr(column.type))
    return key


def _converter(process, seen: dict | None = None):
    """value -> COPY text for one column: its bind processing, then the text form. A value that is not a
    string (a batch's timestamp, a status, a number) is converted once and remembered for the call (in `seen`,
    when given: for the calls that share it)."""
    if seen is None:
        seen = {}
    render = (lambda value: _copy_text(process(value))) if process else _copy_text

    def convert(value):
        cls = value.__class__
        if cls is str and process is None:
            return _copy_text(value)
        if cls is dict or cls is list:  # a JSON value: nothing to remember
            return render(value)
        key = (cls, value)  # True and 1, or 1 and 1.0, are equal keys but not the same text
        try:
            return seen[key]
        except KeyError:
            text = seen[key] = render(value)
            return text
        except TypeError:  # another unhashable value
            return render(value)

    return convert


def _copy_text(value) -> str:
    """A DB-API value as a field of COPY's text format (tab-separated, \\N for NULL, backslash escapes)."""
    if value is None:
        return "\\N"
    if type(value) is str:  # most fields: checked first, escaped only when needed
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value or "\x00" in value:
            return _escaped(value)
        return value
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, str):
        return _escaped(value)
    raise TypeError(f"no COPY text form for {type(value).__name__}")


def _escaped(text: str) -> str:
    if "\x00" in text:
        raise ValueError("text with a NUL character cannot be stored")
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class RowsInsert:
    """An insert of many rows of one table, for one dialect, below the Core's per-row bind processing (an
    automation run has 26 columns and an event gives several runs): for small batches in a hot transaction,
    where a COPY (`prepare`) costs more than it saves. Rows are lists in the table's column order; each
    column's own bind processor is applied only where it has one, once per distinct value object in the call
    (the runs of an event share their timestamps and texts), then one executemany of tuples (SQLite) or, on
    PostgreSQL (psycopg2 sends an executemany row by row), the rows as one JSON document (`crm_common.documents`), or
    multi-row VALUES statements where the document does not carry a column's type or a value as it is."""

    CHUNK = 200

    def __init__(self, table, dialect):
        self.columns = tuple(column.name for column in table.columns)
        self.converters = [(i, convert) for i, convert in enumerate(bound(column, dialect) for column in table.columns)
                           if convert is not None]
        preparer = dialect.identifier_preparer
        into = (f"INSERT INTO {preparer.format_table(table)} "
                f"({', '.join(preparer.quote(column.name) for column in table.columns)})")
        self.head = into + " VALUES "
        self.qmark = dialect.paramstyle == "qmark"
        self.one = "(" + ", ".join(["?" if self.qmark else "%s"] * len(table.columns)) + ")"
        self.document = None if self.qmark else document(table, self.columns, dialect)
        self.as_document = None if self.document is None else f"{into} {self.document.select}"

    def __call__(self, conn, rows: list[list]) -> None:
        if self.qmark:
            self._process(rows)
            conn.exec_driver_sql(self.head + self.one, [tuple(row) for row in rows])
            return
        for start in range(0, len(rows), self.CHUNK):
            conn.exec_driver_sql(*self._values(rows[start:start + self.CHUNK]))

    def statement(self, rows: list[list]) -> tuple[str, tuple]:
        """The SQL text and parameters of one statement inserting `rows` (at most CHUNK; PostgreSQL's
        paramstyle), for a caller that sends it together with others (crm_common.outbox.insert_with_events)."""
        assert not self.qmark and len(rows) <= self.CHUNK
        return self._values(rows)

    def _values(self, rows: list[list]) -> tuple[str, tuple]:
        if self.document is not None:
            parameter = self.document.parameter(rows)
            if parameter is not None:
                return self.as_document, (parameter,)
        self._process(rows)
        return self.head + ", ".join([self.one] * len(rows)), tuple(itertools.chain.from_iterable(rows))

    def _process(self, rows: list[list]) -> None:
        convert_columns(rows, self.converters)


@functools.lru_cache(maxsize=None)
def rows_insert(table, dialect) -> RowsInsert:
    """`RowsInsert` of a table (as it is declared: a caller that gives a JSON column as text declares it
    `documents.JSONText`), built once per dialect."""
    return RowsInsert(table, dialect)
