"""Reference data cached per process, checked against a generation token on each use.

A service whose hot path reads small, rarely changed reference data (custom field definitions, territories,
assignment rules) installs the `cache_generations` table (`install(metadata)`, with a migration that
inserts its row: no row, no caching) and

- every writer of that data calls `changed(session, metadata)` in its transaction: a new token, so every
  process (every replica) loads the data again at its next use;
- a reader calls `cached(session, metadata, name, load)`: `load()`'s value as of the current token. The
  token is one primary-key read per transaction, shared by every cached name; a value is kept with the
  token read before it was loaded, so a change committed in between only costs one more load.

Values are shared between requests: a `load` returns data nobody mutates (tuples, frozen copies).
"""
from __future__ import annotations

import functools
import threading
import uuid
import weakref

from sqlalchemy import Column, MetaData, String, Table, bindparam, select, update

TABLE = "cache_generations"
KEY = "reference"
_MEMO = "crm_generation"  # session.info: (the transaction, its token)


def install(metadata: MetaData) -> Table:
    if TABLE in metadata.tables:
        return metadata.tables[TABLE]
    return Table(TABLE, metadata,
                 Column("key", String(40), primary_key=True),
                 Column("token", String(36), nullable=False))


def installed(metadata: MetaData) -> bool:
    return TABLE in metadata.tables


@functools.lru_cache(maxsize=None)
def _statements(table: Table) -> dict:
    """Built once: a statement built per call works out its cache key again each time."""
    return {"token": select(table.c.token).where(table.c.key == KEY),
            "bump": update(table).where(table.c.key == KEY).values(token=bindparam("token"))}


def _memo_of(session):
    memo = session.info.get(_MEMO)
    transaction = session.get_transaction()
    if memo is not None and transaction is not None and memo[0] is transaction:
        return memo
    return None


def token(session, metadata: MetaData) -> str | None:
    """The current generation (None: the table has no row, nothing is cached); read once per transaction."""
    memo = _memo_of(session)
    if memo is not None:
        return memo[1]
    table = install(metadata)
    value = session.connection().execute(_statements(table)["token"]).scalar()
    session.info[_MEMO] = (session.get_transaction(), value)
    return value


def token_column(metadata: MetaData):
    """The token as a scalar subquery, for a statement that reads it along with something else in one round trip
    (its first in a transaction: crm_common.idempotency's look-up of a kept key); `remember` what it read."""
    return _statements(install(metadata))["token"].scalar_subquery()


def remember(session, value: str | None) -> None:
    """The token a statement of this transaction read (`token_column`), unless it read it already: `token` then
    asks no more."""
    if _memo_of(session) is None:
        session.info[_MEMO] = (session.get_transaction(), value)


def changed(session, metadata: MetaData) -> None:
    """The cached data changed in this transaction: a new token (every process reloads once it commits)."""
    table = install(metadata)
    new = str(uuid.uuid4())
    done = session.connection().execute(_statements(table)["bump"], {"token": new})
    session.info[_MEMO] = (session.get_transaction(), new if done.rowcount else None)


_values: dict = {}  # (database URL, name) -> (token, value)
_lock = threading.Lock()
_urls: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # engine -> its URL's text (a URL's str renders it)


def _database(session) -> str:
    engine = session.get_bind()
    url = _urls.get(engine)
    if url is None:
        url = _urls[engine] = str(engine.url)
    return url


def cached(session, metadata: MetaData, name: str, load):
    """`load()`, or the value it gave under the current token in this process (same database)."""
    current = token(session, metadata)
    if current is None:
        return load()
    key = (_database(session), name)
    kept = _values.get(key)
    if kept is not None and kept[0] == current:
        return kept[1]
    value = load()
    with _lock:
        _values[key] = (current, value)
    return value
