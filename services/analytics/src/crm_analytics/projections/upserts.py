"""The store's bulk upserts (projections/store.py): on PostgreSQL one `INSERT ... SELECT FROM unnest(...) ON
CONFLICT DO UPDATE` per model and batch, each column sent as one array literal; elsewhere a dialect's
INSERT ... ON CONFLICT DO UPDATE of every column, executed for many rows."""
from __future__ import annotations

from datetime import date, datetime, timezone

from crm_common.types import UTCDateTime

_STATEMENTS: dict = {}  # (table, added, extremes) -> (statement, [(column name, bind processor, default)])


def upsert_statement(dialect, table, rows: list[dict], added: tuple = (), extremes: tuple = ()) -> tuple:
    """PostgreSQL: one statement per model and batch, `INSERT ... SELECT FROM unnest(<one array per column>)
    ON CONFLICT DO UPDATE`: one round trip, a parameter per column whatever the rows (`array_text`), no temporary
    table. The columns `added` are added to the row's (sums), the others replace it; `extremes`: ((column, "LEAST"
    or "GREATEST"), ...) keep the row's or the new value. A column a row lacks: its scalar default, else NULL. The
    statement and its parameters, for the driver's cursor (no statement of the ORM's or the Core's to compile)."""
    made = _STATEMENTS.get((table.name, added, extremes))
    if made is None:
        names = [c.name for c in table.columns]
        q = dialect.identifier_preparer
        keys = [c.name for c in table.primary_key.columns]
        listed = ", ".join(q.quote(n) for n in names)
        arrays = ", ".join(f"CAST(%(c{i})s AS {table.c[n].type.compile(dialect=dialect)}[])" for i, n in enumerate(names))
        kept = dict(extremes)
        sets = ", ".join(f"{q.quote(n)} = COALESCE({q.quote(table.name)}.{q.quote(n)}, 0) + EXCLUDED.{q.quote(n)}"
                         if n in added else
                         f"{q.quote(n)} = {kept[n]}({q.quote(table.name)}.{q.quote(n)}, EXCLUDED.{q.quote(n)})"
                         if n in kept else f"{q.quote(n)} = EXCLUDED.{q.quote(n)}" for n in names if n not in keys)
        sql = (f"INSERT INTO {q.quote(table.name)} ({listed}) SELECT * FROM unnest({arrays}) "
               f"ON CONFLICT ({', '.join(q.quote(k) for k in keys)}) DO UPDATE SET {sets}")
        made = _STATEMENTS[(table.name, added, extremes)] = (
            sql, [(n, _processor(table.c[n].type, dialect), _default(table.c[n])) for n in names])
    statement, processors = made
    params = {}
    for i, (name, process, default) in enumerate(processors):
        values = [row.get(name, default) for row in rows]
        if process is not None:
            values = [process(v) for v in values]
        params[f"c{i}"] = array_text(values)
    return statement, params


def array_text(values: list) -> str:
    """`values` as one PostgreSQL array literal (`{"a",NULL,"1.50"}`), each element as its text, which the
    server reads as it would in COPY (a value of another type than the column's too): one string parameter it
    parses in C, where a list bound as it is becomes an ARRAY[...] of typed constants it parses and plans one
    by one."""
    out = []
    for v in values:
        if v is None:
            out.append("NULL")
        elif v.__class__ is str:
            out.append(_quoted(v))
        elif v.__class__ is int:  # (not a bool: its class is bool)
            out.append(str(v))
        elif v.__class__ is bool:
            out.append("t" if v else "f")
        elif isinstance(v, (date, datetime)):
            out.append(f'"{v.isoformat()}"')
        else:
            out.append(_quoted(str(v)))
    return "{" + ",".join(out) + "}"


def _quoted(value: str) -> str:
    if "\\" in value or '"' in value:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f'"{value}"'


def _default(column):
    default = column.default
    return default.arg if default is not None and default.is_scalar else None


def _processor(type_, dialect):
    """The column's bind processing; a datetime already in UTC (the projections' own) is passed as it is."""
    process = type_.bind_processor(dialect)
    if process is None or not isinstance(type_, UTCDateTime):
        return process
    return lambda value: value if value is None or value.tzinfo is timezone.utc else process(value)


def insert_for(dialect_name: str):
    """The dialect's own `insert` (PostgreSQL's or SQLite's: their ON CONFLICT clauses)."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def upsert(dialect, table):
    """The bulk upsert of every column of `table` (SQLite; PostgreSQL's own is `upsert_statement`)."""
    statement = insert_for(dialect.name)(table)
    keys = [c.name for c in table.primary_key.columns]
    rest = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
    return statement.on_conflict_do_update(index_elements=keys, set_=rest)
