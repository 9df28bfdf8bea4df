"""The shape of a read model's rows as the store writes them: a table's primary key, its columns with their scalar
defaults, and rows made whole for a bulk statement or a COPY (worked out once per table)."""
from __future__ import annotations

_COLUMNS: dict = {}  # table name -> [(column name, its scalar default or None)]
_KEYS: dict = {}  # table -> its primary key's column names


def key_names(table) -> tuple:
    """The names of `table`'s primary key columns."""
    names = _KEYS.get(table)
    if names is None:
        names = _KEYS[table] = tuple(c.name for c in table.primary_key.columns)
    return names


def _columns(table) -> list:
    columns = _COLUMNS.get(table.name)
    if columns is None:
        columns = _COLUMNS[table.name] = [
            (c.name, c.default.arg if c.default is not None and c.default.is_scalar else None) for c in table.columns]
    return columns


def _names(table) -> frozenset:
    names = _NAMES.get(table)
    if names is None:
        names = _NAMES[table] = frozenset(c.name for c in table.columns)
    return names


_NAMES: dict = {}  # table -> its column names


def key_of(table, row: dict) -> tuple:
    """The primary key of `row` (or of a key's dict) as the store's tuple."""
    return key_from(_KEYS.get(table) or key_names(table), row)


def key_from(names: tuple, row: dict) -> tuple:
    """The store's tuple of the values of `row` (or of a key's dict) under the key's column `names`."""
    return (row[names[0]],) if len(names) == 1 else tuple(row[n] for n in names)


def full(table, row: dict) -> dict:
    """Every column of `row` (what it lacks: the column's default, else None), for a bulk statement."""
    return {name: row[name] if name in row else default for name, default in _columns(table)}


def present(table, rows: list[dict]) -> list[dict]:
    """New `rows` for a COPY, each with the same columns: those any of them has and those with a default (what a
    row lacks: the default, else None); a column none has is left out (NULL, with less to format and send). Rows
    with the same columns each (a batch of one kind of event) as they are: the COPY adds the defaults."""
    first = rows[0].keys()
    if all(row.keys() == first for row in rows) and first <= _names(table):
        return rows
    names = set().union(*rows)
    columns = [(name, default) for name, default in _columns(table) if name in names or default is not None]
    return [{name: row[name] if name in row else default for name, default in columns} for row in rows]
