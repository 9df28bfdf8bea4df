"""Idempotent consumption: an event id is recorded in the same transaction as its effect."""
from __future__ import annotations

import functools

from sqlalchemy import Table, bindparam, text
from sqlalchemy.orm import Session

from crm_common import documents, tables
from crm_common.db import insert_or_skip, utcnow


def claim(session: Session, metadata, envelope: dict) -> bool:
    """Record the event as processed in the session's transaction; False if it already was.

    One statement (INSERT ... ON CONFLICT DO NOTHING) instead of a lookup and an insert. Two consumers
    racing on a redelivered event: on PostgreSQL the second waits for the first's transaction and then
    finds the id taken; on SQLite writers are serialized. A rolled-back handler rolls its claim back too.
    """
    statement = insert_or_skip(metadata.tables[tables.INBOX], ("event_id",))
    # on the session's connection: Session.execute would take the statement through the ORM's execution path
    result = session.connection().execute(statement, {"event_id": envelope["event_id"], "type": envelope["type"],
                                         "processed_at": utcnow()})
    return result.rowcount == 1


def claim_and_insert(session: Session, metadata, envelope: dict, table: Table, row: dict) -> bool:
    """Claim the event (as `claim`) and, when it is new, insert `row` into `table` (a consumer whose whole
    effect of the event is one row); whether it was new. On PostgreSQL one statement: the claim's INSERT ...
    RETURNING in a CTE that the row's INSERT selects from (no row when the event was claimed before); the two
    in turn elsewhere."""
    if session.get_bind().dialect.name != "postgresql":
        if not claim(session, metadata, envelope):
            return False
        session.connection().execute(table.insert(), row)
        return True
    statement = _claim_and_insert(metadata.tables[tables.INBOX], table, tuple(row))
    result = session.connection().execute(statement, {**row, "inbox_event_id": envelope["event_id"],
                                                      "inbox_type": envelope["type"], "inbox_processed_at": utcnow()})
    return result.rowcount == 1


@functools.lru_cache(maxsize=None)
def _claim_and_insert(inbox: Table, table: Table, names: tuple[str, ...]):
    """The statement of claim_and_insert for `table`'s columns `names`, built once (its values bound typed as
    the columns bind them)."""
    quoted = ", ".join(f'"{name}"' for name in names)
    sql = (f'WITH claimed AS (INSERT INTO "{inbox.name}" (event_id, type, processed_at) VALUES (:inbox_event_id, '
           f':inbox_type, :inbox_processed_at) ON CONFLICT (event_id) DO NOTHING RETURNING event_id) '
           f'INSERT INTO "{table.name}" ({quoted}) SELECT {", ".join(":" + name for name in names)} FROM claimed')
    return text(sql).bindparams(
        bindparam("inbox_event_id", type_=inbox.c.event_id.type), bindparam("inbox_type", type_=inbox.c.type.type),
        bindparam("inbox_processed_at", type_=inbox.c.processed_at.type),
        *[bindparam(name, type_=table.c[name].type) for name in names])


def claim_and_insert_many(session: Session, metadata, envelopes: list[dict], table: Table, rows: list[dict]) -> set[str]:
    """Claim many events (as `claim_many`) and insert, of `rows` (each naming its event in `event_id`, a column of
    `table`), those of the events that were new; the ids that were new. On PostgreSQL one statement: the claims'
    INSERT ... RETURNING in a CTE, the rows as one JSON document (`documents.document`) inserted joined to what it
    returned (a batch of a consumer whose effect of an event is one row: identity's audit trail); elsewhere (or
    for rows the document does not carry) claim_many, then the rows. A row whose event is given twice is inserted
    once (the first)."""
    claims = _claims(envelopes)
    if not claims:
        return set()
    rows = _first_per_event(rows)
    names = tuple(rows[0]) if rows else ("event_id",)
    inbox, dialect = metadata.tables[tables.INBOX], session.get_bind().dialect
    source = documents.document(table, names, dialect)
    parameter = None if source is None else source.parameter([[row[name] for name in names] for row in rows])
    if parameter is None:
        fresh = claim_many(session, metadata, envelopes)
        new = [row for row in rows if row["event_id"] in fresh]
        if new:
            session.connection().execute(table.insert(), new)
        return fresh
    sql = _claim_and_insert_many(inbox, table, names, dialect)
    result = session.connection().exec_driver_sql(sql, (_claims_document(inbox, dialect, claims), parameter))
    return {event_id for (event_id,) in result}


def _first_per_event(rows: list[dict]) -> list[dict]:
    return list({row["event_id"]: row for row in reversed(rows)}.values())[::-1]


def _claims(envelopes: list[dict]) -> dict[str, str]:
    """event id -> type, each id once."""
    return {e["event_id"]: e["type"] for e in envelopes}


_CLAIMED = ("event_id", "type", "processed_at")


def _claims_document(inbox: Table, dialect, claims: dict[str, str]) -> str:
    now = utcnow()
    document = documents.document(inbox, _CLAIMED, dialect).parameter([[i, kind, now] for i, kind in claims.items()])
    if document is None:  # an envelope's id or type is text, as JSON gives it
        raise TypeError("an event id or type that is not plain text")
    return document


@functools.lru_cache(maxsize=None)
def _claims_sql(inbox: Table, dialect) -> str:
    """The claims' INSERT of many events on PostgreSQL (their ids, types and time as one JSON document: its one
    parameter), giving the ids it inserted; built once."""
    return (f'INSERT INTO "{inbox.name}" (event_id, type, processed_at) '
            f"{documents.document(inbox, _CLAIMED, dialect).select} ON CONFLICT (event_id) DO NOTHING RETURNING event_id")


@functools.lru_cache(maxsize=None)
def _claim_and_insert_many(inbox: Table, table: Table, names: tuple[str, ...], dialect) -> str:
    """The driver's statement of claim_and_insert_many on PostgreSQL for `table`'s columns `names` (two parameters:
    the claims' document, the rows' document), built once."""
    quoted = ", ".join(dialect.identifier_preparer.quote(name) for name in names)
    return (f"WITH claimed AS ({_claims_sql(inbox, dialect)}), "
            f'written AS (INSERT INTO "{table.name}" ({quoted}) SELECT given.* FROM '
            f"({documents.document(table, names, dialect).select}) AS given "
            'JOIN claimed ON claimed.event_id = given."event_id") '
            "SELECT event_id FROM claimed")


def claim_many(session: Session, metadata, envelopes: list[dict]) -> set[str]:
    """Record many events as processed, in one statement (INSERT ... ON CONFLICT DO NOTHING RETURNING); the ids
    that were not yet (an id twice in `envelopes` counts once). SQLite before 3.35 has no RETURNING: one
    statement per event there. A single event takes `claim`'s statement, compiled once (cheaper for one row)."""
    table = metadata.tables[tables.INBOX]
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":  # one statement, the claims as one JSON document (crm_common.documents)
        claims = _claims(envelopes)
        if not claims:
            return set()
        result = session.connection().exec_driver_sql(_claims_sql(table, dialect),
                                                      (_claims_document(table, dialect, claims),))
        return set(result.scalars())
    now = utcnow()
    rows = list({e["event_id"]: {"event_id": e["event_id"], "type": e["type"], "processed_at": now}
                 for e in envelopes}.values())
    if not rows:
        return set()
    if len(rows) == 1 or dialect.dbapi.sqlite_version_info < (3, 35):  # one event: claim's compiled statement
        return {row["event_id"] for row in rows if claim(session, metadata, {**row})}
    # the driver's own statement, its parameters bound as the table's columns bind them (no compilation per call)
    processor = table.c.processed_at.type.bind_processor(dialect)
    at = processor(now) if processor else now
    connection, fresh = session.connection(), set()
    for start in range(0, len(rows), _SQLITE_ROWS):
        chunk = rows[start:start + _SQLITE_ROWS]
        values = ", ".join(["(?, ?, ?)"] * len(chunk))
        parameters = tuple(value for row in chunk for value in (row["event_id"], row["type"], at))
        result = connection.exec_driver_sql(
            f'INSERT INTO "{table.name}" (event_id, type, processed_at) VALUES {values} '
            "ON CONFLICT (event_id) DO NOTHING RETURNING event_id", parameters)
        fresh.update(result.scalars())
    return fresh


_SQLITE_ROWS = 300  # rows per statement: 3 parameters each, well under SQLite's limit of parameters
