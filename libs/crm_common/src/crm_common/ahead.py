"""A read a keyed call's domain function makes first, sent ahead with the call's first statement on PostgreSQL.

A keyed call (one carrying an Idempotency-Key, crm_common.entrypoint.run_once) begins with the key's look-up
(crm_common.idempotency.find, its BEGIN folded in: crm_common.folded). A domain function whose first read
depends only on its input declares it, and the look-up carries it as one more column (the read's rows as a
JSON array), so the read costs no round trip of its own:

    QUERY = ahead.ordered(select(...).where(...), Lead.created_at, limit=20)   # built once, its order declared

    def duplicates_ahead(data: dict) -> ahead.Read | None:   # the input as the function gets it; no database
        return ahead.Read(QUERY, {"email": ...})

    @ahead.reads(duplicates_ahead)
    def create(ctx, data): ...
        rows = ahead.taken(ctx.session, QUERY, params)      # what was read ahead, or None: run it yourself

`taken` gives the rows only for the same query (the same object: build it once) with the same parameters, in
the same transaction, once; otherwise None, and the function runs the query itself (SQLite, an unkeyed call, a
reader that declined). The rows read ahead are in the query's order, each with attribute access to its
columns as JSON gives them back (text, numbers, booleans: select no timestamps or decimals to be read ahead).
The read runs in the call's transaction, in the same statement as the key's look-up: what it sees is what the
function's own first statement would have seen (READ COMMITTED), a moment earlier; a replayed call discards it.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable

from sqlalchemy import func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

_ATTRIBUTE = "crm_reads_ahead"
_TAKEN = "crm_read_ahead"  # session.info: (the transaction, the Read, its rows)
_ORDER = "crm_ahead_n"


@dataclass(frozen=True)
class Read:
    """A SELECT (built once by `ordered`, its values bound parameters) and its parameters' values; `given`: what
    the reader worked out of the input that the function would otherwise work out again (sales: a lead's
    normalized email and phone), handed to it with the read (`given`)."""

    query: object
    params: dict
    given: dict | None = None


def reads(reader: Callable[..., Read | None]):
    """Declare `reader(*input)` -> Read or None: the first read of the decorated domain function, given the
    call's arguments after its context (the record id, the loaded input), touching no database."""
    def declare(fn):
        setattr(fn, _ATTRIBUTE, reader)
        return fn
    return declare


def of(fn, args, session) -> Read | None:
    """The read `fn` declared for these arguments, or None; None on another backend than PostgreSQL (only its
    look-up carries a read: the reader is not run)."""
    reader = getattr(fn, _ATTRIBUTE, None)
    if reader is None or session.get_bind().dialect.name != "postgresql":
        return None
    return reader(*args)


_COLUMNS: dict = {}  # a query built by `ordered` -> its rows as one JSON array (`column`)


def ordered(query, *order, limit: int | None = None):
    """`query` in the order `order` (its ORDER BY), at most `limit` rows: a read that may go ahead, whose rows keep
    that order when they go as one JSON array (`column`, made here, where the order is declared). Build it once:
    the array is kept for this query object."""
    done = query.order_by(*order)
    if limit is not None:
        done = done.limit(limit)
    numbered = done.add_columns(func.row_number().over(order_by=order).label(_ORDER)).subquery("crm_ahead")
    agg = aggregate_order_by(literal_column("crm_ahead"), literal_column(f"crm_ahead.{_ORDER}"))
    _COLUMNS[done] = select(func.json_agg(agg)).select_from(numbered).scalar_subquery()
    return done


def column(query):
    """The rows of a query built by `ordered` as one JSON array (NULL for none), in its order: a scalar subquery
    for a statement that reads them along with something else (PostgreSQL)."""
    try:
        return _COLUMNS[query]
    except KeyError:
        raise TypeError("a read ahead's query is built by crm_common.ahead.ordered (its order declared)") from None


def remember(session, read: Read, rows: list[dict] | None) -> None:
    """What a statement of this transaction read for `read` (its `column`)."""
    session.info[_TAKEN] = (session.get_transaction(), read, rows or [])


def given(session) -> dict | None:
    """What the reader of this transaction's call handed along with its read (`Read.given`), when the read went
    ahead; None otherwise (the function works it out itself)."""
    memo = session.info.get(_TAKEN)
    if memo is None or memo[0] is not session.get_transaction():
        return None
    return memo[1].given


def taken(session, query, params: dict) -> list | None:
    """The rows read ahead for `query` with `params` in this transaction (once), or None."""
    memo = session.info.pop(_TAKEN, None)
    if memo is None or memo[0] is not session.get_transaction() or memo[1].query is not query \
            or memo[1].params != params:
        return None
    return [SimpleNamespace(**{k: v for k, v in row.items() if k != _ORDER}) for row in memo[2]]
