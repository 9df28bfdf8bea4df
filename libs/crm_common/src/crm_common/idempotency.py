"""A call's `Idempotency-Key` kept with what the call made, in the same transaction (issue 18).

The gateway keeps each key's final answer (crm_gateway.idempotency), but it cannot keep what it never got:
a replica that commits a create and dies before its answer leaves the gateway a 503, which it does not keep.
The client's retry with the same key would then run the create again (a duplicate, or a 409 naming the
client's own record). So the gateway also sends the key, with the request's fingerprint (the hash of its
method, path and body), in the signed context of the route's call (crm_common.callers), and an entrypoint
called with one (crm_common.entrypoint.run_once) looks it up in the service's `crm_idempotency` table, in the
transaction it opens:

- not there: the domain function runs, and its answer, as dumped for the reply, is inserted with the key in
  the same transaction; the commit keeps both or neither;
- there, with the same method and fingerprint: the stored answer is the answer; nothing runs, nothing is
  written, no event is emitted;
- there with another method or fingerprint: 422, as the gateway answers a key used for another request.

Keys are the caller's own (the signed actor's id). Only answers are kept: a call that fails rolls back, so its
key stays free. A record older than `TTL` is no repeat: it is replaced, and `purge` (the Database dependency's
relay, now and then) deletes old records. Two calls of one key at once (the gateway lets only one through
while its record is open; a request redelivered by the broker can meet the client's retry): on PostgreSQL the
second insert waits for the first transaction and fails on the key, the second's work is rolled back, and it
answers with the first's stored answer.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import timedelta

from kombu.utils.json import dumps, loads
from sqlalchemy import and_, bindparam, delete, func, insert, literal_column, select

from crm_common import ahead, generations, outbox, tables
from crm_common.context import Actor
from crm_common.db import utcnow
from crm_common.errors import ServiceError

TTL = timedelta(hours=24)
MISSING = object()  # find(): no answer is kept for the key


@dataclass(frozen=True)
class Idempotent:
    """The key of a call and the fingerprint of the request it came with."""

    key: str
    fingerprint: str


def fingerprint(scope: str, body_digest: str) -> str:
    """The fingerprint the gateway sends: one hash of the request's method and path (`scope`) and of its body."""
    return hashlib.sha256(f"{scope}\n{body_digest}".encode()).hexdigest()


def owner_of(actor: Actor) -> str:
    """Whose key it is: a user's, an API key's, or (for callers with neither id) their kind's."""
    return str(actor.user_id or (f"key:{actor.api_key_id}" if actor.api_key_id else None) or actor.kind)[:64]


@functools.lru_cache(maxsize=None)
def _statements(table, generation=None, ahead_query=None) -> dict:
    """The find, drop and keep statements of a service's table, built once (their values are bound
    parameters): a statement built per call works out its cache key again each time. With `generation` (the
    token's scalar subquery, crm_common.generations) the find reads the token too, and with `ahead_query` the
    rows of a domain function's first read (crm_common.ahead), in the same round trip: one row always, the
    key's columns NULL when it is not kept."""
    mine = (table.c.owner_id == bindparam("o"), table.c.key == bindparam("k"))
    columns = (table.c.method, table.c.fingerprint, table.c.answer, table.c.created_at)
    extra = ([generation.label("generation")] if generation is not None else []) + (
        [ahead.column(ahead_query).label("ahead")] if ahead_query is not None else [])
    if not extra:
        find_kept = select(*columns).where(*mine)
    else:
        one = select(literal_column("1").label("one")).subquery("one")
        find_kept = select(*extra, *columns).select_from(one.outerjoin(table, and_(*mine)))
    return {"find": find_kept, "drop": delete(table).where(*mine), "keep": insert(table)}


def _of(metadata, ahead_query=None) -> dict:
    table = metadata.tables[tables.IDEMPOTENCY]
    if not generations.installed(metadata):
        return _statements(table, None, ahead_query)
    return _statements(table, _generation_column(metadata.tables[generations.TABLE]), ahead_query)


@functools.lru_cache(maxsize=None)
def _generation_column(table):
    return generations.token_column(table.metadata)


def find(session, metadata, owner: str, call: Idempotent, method: str, read: ahead.Read | None = None):
    """The answer kept for the owner's key, or MISSING; a 422 when the key was used for another request.
    In a service that caches reference data under a generation token, the look-up reads the token too (a create
    reads that data next); it also reads `read`, the domain function's first read (crm_common.ahead: only on
    PostgreSQL, where ahead.of gives one)."""
    statements = _of(metadata, read.query if read is not None else None)
    mine = {"o": owner, "k": call.key}
    row = session.connection().execute(statements["find"], {**read.params, **mine} if read else mine).first()
    if row is not None and ("generation" in row._fields or read is not None):
        if "generation" in row._fields:
            generations.remember(session, row.generation)
        if read is not None:
            ahead.remember(session, read, row.ahead)
        if row.method is None:
            row = None
    if row is None:
        return MISSING
    if row.created_at < utcnow() - TTL:  # past its day: the key is free again
        session.connection().execute(statements["drop"], mine)
        return MISSING
    if row.method != method or row.fingerprint != call.fingerprint:
        raise ServiceError("validation_failed", "this Idempotency-Key was used with a different request",
                           errors={"Idempotency-Key": ["already used with a different request"]})
    return loads(row.answer)


def keep(session, metadata, owner: str, call: Idempotent, method: str, answer) -> None:
    """Insert the key with its answer in the session's transaction (a key taken meanwhile: IntegrityError); on
    PostgreSQL with the transaction's outbox rows, in one round trip (crm_common.outbox.insert_with_events)."""
    table = metadata.tables[tables.IDEMPOTENCY]
    values = {"owner_id": owner, "key": call.key, "method": method, "fingerprint": call.fingerprint,
              "answer": dumps(answer), "created_at": utcnow()}
    if not outbox.insert_with_events(session, table, [values[column.name] for column in table.columns]):
        session.connection().execute(_of(metadata)["keep"], values)


def purge(engine, metadata) -> int:
    """Delete the records past their TTL; how many."""
    table = metadata.tables[tables.IDEMPOTENCY]
    with engine.begin() as conn:
        return conn.execute(delete(table).where(table.c.created_at < utcnow() - TTL)).rowcount


def mentions(column, email: str):
    """Whether a kept answer (`column`, its JSON text) names the person of `email`: the condition an erasure
    deletes by, here and in the gateway's records (crm_gateway.idempotency)."""
    return func.lower(column).contains(email.strip().lower(), autoescape=True)


def forget(session, metadata, email: str | None) -> int:
    """An erasure's part in the kernel's own copies: the answers kept with keys that name the person are
    deleted in the erasure's transaction, so a retry can never hand their data back (it runs afresh)."""
    if not email or tables.IDEMPOTENCY not in metadata.tables:
        return 0
    table = metadata.tables[tables.IDEMPOTENCY]
    return session.connection().execute(delete(table).where(mentions(table.c.answer, email))).rowcount
