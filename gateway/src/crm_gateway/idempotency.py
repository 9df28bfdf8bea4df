"""`Idempotency-Key` on POST: a repeat within 24 h returns the first response and creates nothing.

A route whose call goes to a service (every route of the table, conventions; the exports) is `kept_by_service`:
the gateway checks the key and hands it, with the request's fingerprint (the hash of its method, path and body),
signed with the caller, to the route's call (`g.idempotent`, `passed_on`). The service keeps the key with its
answer in the transaction that made the record, and answers a repeat with that answer (crm_common.idempotency,
crm_common.entrypoint.run_once): nothing runs again, and its reply says it is the kept answer (the call's
`on_replay`), so the response carries `Idempotent-Replayed: true`. The same key with another request is its
422. A repeat sent while the first still runs waits there for the first's commit (PostgreSQL: on the key's unique
index, then it is rolled back and answers the kept answer; SQLite: the service's write lock) and gets the
first answer. A refusal or a 5xx keeps nothing (the service's transaction rolled back): the retry runs again, so a
retry after a replica died between its commit and its answer (the gateway's 503) gets the first 201 and the same
record. Nothing is written here for these routes: the service's key is the one record of the request.

A view that does work of its own under a key (`idempotent`) keeps its records in the gateway's own small
database (SQLite under var/ or GATEWAY_DATABASE_URL), so every gunicorn worker and replica sees them: a claim
(one INSERT ... ON CONFLICT DO NOTHING; a repeat then reads the record) and the stored answer. A repeat with
another body is a 422; a repeat while the first is still running is a 409. On PostgreSQL each statement commits
on its own (autocommit: one round trip instead of BEGIN, the statement and COMMIT); each is atomic by itself,
and under READ COMMITTED a repeat's read sees what a transaction around it would. SQLite keeps its write
transactions (crm_common.db's write lock). Only final answers are kept: a 5xx releases the key, so the client's
retry runs again; an answer its service kept and replayed (`replayed_by_service`) is kept like any final answer.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
import threading
import time
from datetime import timedelta

from flask import Response, current_app, g, request
from sqlalchemy import bindparam, delete, select, update

from crm_common.db import insert_or_skip, make_engine, utcnow
from crm_common.errors import ServiceError
from crm_common.idempotency import Idempotent, fingerprint, mentions
from crm_gateway.models import IdempotencyRecord

KEY_RE = re.compile(r"^[A-Za-z0-9_.:-]{8,200}$")
TTL = timedelta(hours=24)
PURGE_INTERVAL = 60.0  # seconds between one process's deletions of records past their TTL


def idempotent(view):
    """`Idempotency-Key` on a view that does work of its own under the key: the gateway's records (see the
    module doc)."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view(*args, **kwargs)
        _check_format(key)
        engine = current_app.extensions["crm_db"]
        owner = getattr(g, "actor", None)
        owner_id = (owner.user_id or owner.kind) if owner else "anonymous"
        digest = hashlib.sha256(request.get_data() or b"").hexdigest()
        scope = f"{request.method} {request.path}"
        existing = claim(engine, owner_id, key, scope, digest)
        if existing is not None:
            return _replay(existing, digest, scope)
        # the route's call carries the key: the service keeps it with what it makes (see the module doc)
        g.idempotent = Idempotent(key, fingerprint(scope, digest))
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except Exception:
            _release(engine, owner_id, key)  # failed: the key may be used again
            raise
        if response.status_code >= 500:
            _release(engine, owner_id, key)
            return response
        if g.pop("idempotent_replayed", False):  # the service answered with the answer it kept for the key
            response.headers["Idempotent-Replayed"] = "true"
        headers = {k: v for k, v in response.headers.items() if k in ("Location", "ETag", "Content-Type")}
        stored = {"o": owner_id, "k": key, "new_status": response.status_code, "new_headers": json.dumps(headers),
                  "new_body": response.get_data(as_text=True)}
        direct = _direct(engine)
        if direct is not None:
            direct["store"](engine, stored)
        else:
            with _writer(engine).begin() as conn:
                conn.execute(_statements(engine)["store"], stored)
        return response

    return wrapper


def kept_by_service(view):
    """`Idempotency-Key` on a view whose call carries it (`passed_on`) to a service that keeps its answers (see
    the module doc): the key checked, its fingerprint handed to the call; nothing kept here."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view(*args, **kwargs)
        _check_format(key)
        digest = hashlib.sha256(request.get_data() or b"").hexdigest()
        g.idempotent = Idempotent(key, fingerprint(f"{request.method} {request.path}", digest))
        answer = view(*args, **kwargs)
        if not g.pop("idempotent_replayed", False):
            return answer
        response = current_app.make_response(answer)  # the answer its service kept for the key
        response.headers["Idempotent-Replayed"] = "true"
        return response

    return wrapper


def _check_format(key: str) -> None:
    if not KEY_RE.match(key):
        raise ServiceError("validation_failed", "Idempotency-Key must be 8 to 200 letters, digits or ._:-",
                           errors={"Idempotency-Key": ["invalid format"]})


_TABLE = IdempotencyRecord.__table__
_CLAIMS = 3  # a claim that finds the key's record gone again (its request failed meanwhile) tries again
_last_purge = [0.0]
_purge_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _statements_of() -> dict:
    """The claim and the other statements, built once: the claim is an INSERT that does nothing when the
    key is taken (ON CONFLICT DO NOTHING, crm_common.db.insert_or_skip), so a first use costs one statement."""
    t = _TABLE
    mine = (t.c.owner_id == bindparam("o"), t.c.key == bindparam("k"))
    return {
        "claim": insert_or_skip(t, ("owner_id", "key")),
        "find": select(t).where(*mine),
        # a record past its TTL is not a repeat: the new request takes the key over
        "renew": update(t).where(*mine, t.c.created_at < bindparam("cutoff")).values(
            scope=bindparam("new_scope"), body_hash=bindparam("new_hash"), created_at=bindparam("now"),
            status=None, headers=None, body=None),
        "store": update(t).where(*mine).values(status=bindparam("new_status"), headers=bindparam("new_headers"),
                                               body=bindparam("new_body")),
        "release": delete(t).where(*mine),
        "purge": delete(t).where(t.c.created_at < bindparam("cutoff")),
    }


def _statements(engine) -> dict:
    return _statements_of()


class _Direct:
    """A records statement compiled once for the engine's dialect and run on a pooled connection's own cursor:
    for the engine in autocommit (records_engine on PostgreSQL) the statement is its whole transaction, so the
    Connection around it, the compiled cache's lookup and the result object only cost CPU (README, "Measured").
    A connection the server dropped is invalidated in its pool, as the Connection would."""

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.processors = tuple((name, processor) for name, bind in compiled.binds.items()
                                if (processor := bind.type.bind_processor(dialect)) is not None)

    def __call__(self, engine, params: dict) -> int:
        """Run with `params` (by bind name; more are ignored); the number of rows it changed."""
        params = {**params, **{name: processor(params[name]) for name, processor in self.processors}}
        conn = engine.raw_connection()
        try:
            cursor = conn.cursor()
            try:
                cursor.execute(self.sql, params)
                return cursor.rowcount
            finally:
                cursor.close()
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, conn.dbapi_connection, None):
                conn.invalidate(exc)
            raise
        finally:
            conn.close()


def _direct(engine) -> dict | None:
    """The claim and the store as _Direct statements for an engine in autocommit from the start, else None."""
    if not getattr(engine, "crm_autocommit", False):
        return None
    direct = getattr(engine, "crm_direct", None)
    if direct is None:
        statements = _statements_of()
        direct = engine.crm_direct = {name: _Direct(statements[name], engine.dialect) for name in ("claim", "store")}
    return direct


def records_engine(url: str):
    """The engine of the records' database (the app's `crm_db`): on PostgreSQL its connections are in
    autocommit from the start (see the module doc), so a checkout neither sets nor resets their isolation
    level (two driver calls per statement, a fifth of the records' CPU), and their commits do not wait for
    the WAL's flush to disk (`synchronous_commit=off`, the durability SQLite's WAL with synchronous=NORMAL
    gives the same records): a crash of the database server may forget the last fraction of a second of
    records, never corrupt them. What a forgotten record leaves is covered: a final answer with the record
    it made is kept by the service in its own durable transaction (crm_common.idempotency), so the retry that
    finds no record here gets that answer from the service; a refusal is given again."""
    if not url.startswith("postgresql"):
        return make_engine(url)
    engine = make_engine(url, isolation_level="AUTOCOMMIT", connect_args={"options": "-c synchronous_commit=off"})
    engine.crm_autocommit = True
    return engine


def _writer(engine):
    """The engine the records are written through (kept with the app): on PostgreSQL the pool in autocommit
    (records_engine, or the engine's pool switched to it per checkout), elsewhere the engine itself."""
    if getattr(engine, "crm_autocommit", False):
        return engine
    writers = current_app.extensions.setdefault("crm_idempotency_writers", {})
    writer = writers.get(id(engine))
    if writer is None or writer[0] is not engine:
        autocommit = engine.dialect.name == "postgresql"
        writer = writers[id(engine)] = (engine, engine.execution_options(isolation_level="AUTOCOMMIT")
                                        if autocommit else engine)
    return writer[1]


def claim(engine, owner_id: str, key: str, scope: str, digest: str):
    """Record that the request with this key runs now (None), or the key's record of its first use (for
    _replay). Records past their TTL are purged now and then, and one in the way is
    taken over."""
    now = utcnow()
    _purge_now_and_then(engine, now)
    statements = _statements(engine)
    params = {"owner_id": owner_id, "key": key, "scope": scope, "body_hash": digest, "created_at": now,
              "status": None, "headers": None, "body": None, "o": owner_id, "k": key, "now": now,
              "cutoff": now - TTL}
    direct = _direct(engine)
    if direct is not None and direct["claim"](engine, params) == 1:  # a first use: the key is ours
        return None
    for _ in range(_CLAIMS):
        with _writer(engine).begin() as conn:
            if conn.execute(statements["claim"], params).rowcount == 1:
                return None
            existing = conn.execute(statements["find"], params).first()
            if existing is not None and existing.created_at >= params["cutoff"]:
                return existing
            if existing is not None and conn.execute(statements["renew"], {**params, "new_scope": scope,
                                                                           "new_hash": digest}).rowcount == 1:
                return None
    raise ServiceError("conflict", "a request with this Idempotency-Key is still being processed")


def _release(engine, owner_id: str, key: str) -> None:
    with _writer(engine).begin() as conn:
        conn.execute(_statements(engine)["release"], {"o": owner_id, "k": key})


def _purge_now_and_then(engine, now) -> None:
    """Delete the records past their TTL, at most once a PURGE_INTERVAL in each process (not on every
    request: the table only needs bounding; a record past its TTL is never replayed either way)."""
    moment = time.monotonic()
    if moment - _last_purge[0] < PURGE_INTERVAL or not _purge_lock.acquire(blocking=False):
        return
    try:
        _last_purge[0] = moment
        with engine.begin() as conn:
            conn.execute(_statements(engine)["purge"], {"cutoff": now - TTL})
    finally:
        _purge_lock.release()


def _replay(record, digest: str, scope: str):
    if record.body_hash != digest or record.scope != scope:
        raise ServiceError("validation_failed", "this Idempotency-Key was used with a different request",
                           errors={"Idempotency-Key": ["already used with a different request"]})
    if record.status is None:
        raise ServiceError("conflict", "a request with this Idempotency-Key is still being processed")
    response = Response(record.body, status=record.status)
    for key, value in json.loads(record.headers or "{}").items():
        response.headers[key] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def replayed_by_service() -> None:
    """The route's call was answered with the answer its service kept for the request's key (nothing ran
    there; crm_common.entrypoint.run_once): the response says it is a replay (the call's `on_replay`)."""
    g.idempotent_replayed = True


def passed_on() -> dict:
    """The keywords a route's call to its service carries for the request's Idempotency-Key (none without one):
    the key and fingerprint, kept by the service with what it makes, and `replayed_by_service` as `on_replay`."""
    if g.get("idempotent") is None:
        return {}
    return {"idempotent": g.idempotent, "on_replay": replayed_by_service}


def forget(email: str | None) -> None:
    """After an erasure request is accepted: the records whose kept answer names the person are deleted, so a
    retry never hands their data back (the services forget theirs as the request reaches them)."""
    if email:
        engine = current_app.extensions["crm_db"]
        with _writer(engine).begin() as conn:
            conn.execute(delete(_TABLE).where(mentions(_TABLE.c.body, email)))
