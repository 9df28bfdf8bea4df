"""A worker's unit of work: one session, explicit transactions, events through the outbox."""
from __future__ import annotations

import logging
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_common import faults, outbox
from crm_common.context import SYSTEM, Actor
from crm_common.db import reader
from crm_common.errors import ServiceError

log = logging.getLogger(__name__)


class UnitOfWork:
    """What a service method gets as `self.db`.

    `with self.db.transaction() as session:` opens a transaction; `self.db.emit(type, data)` inside
    it writes an event to the outbox; after commit the events are published at once (the relay
    publishes them later if that fails or the process dies) -- or, with `defer_publish` (an RPC's
    unit of work), kept until `publish_deferred()`, which the Database dependency calls once the reply
    is sent: the caller does not wait for the broker to confirm the events.
    """

    def __init__(self, engine: Engine, metadata, producer: str, publisher, actor: Actor | None,
                 request_id: str | None, rpc: bool = False, marks: outbox.Marks | None = None,
                 defer_publish: bool = False, idempotent=None, order: outbox.CommitOrder | None = None):
        self.engine = engine
        self.metadata = metadata
        self.producer = producer
        self.publisher = publisher
        self.actor = actor
        self.request_id = request_id
        self.rpc = rpc  # an RPC runs for its signed caller only; internal work (timers, events) as the system
        self.marks = marks  # where published events wait to be marked (the service's batch), else at once
        self.idempotent = idempotent  # the signed Idempotency-Key of an RPC (crm_common.idempotency), or None
        self.replayed = False  # the answer is the one kept for that key, nothing ran (run_once); the reply says so
        self._session: Session | None = None
        self._deferred: list[dict] | None = [] if defer_publish else None  # committed, to publish after the reply
        self.order = order  # the process's queue of committed events (publishes in commit order), or None

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = Session(self.engine, expire_on_commit=False)
        return self._session

    @property
    def caller(self) -> Actor:
        """The signed actor of an RPC, or the system actor for internal work (timers, events).
        An RPC with no actor (an entrypoint that does not verify signatures) is refused."""
        if self.actor is not None:
            return self.actor
        if self.rpc:
            raise ServiceError("unauthenticated", "the call carries no signed caller")
        return SYSTEM

    @contextmanager
    def transaction(self):
        session = self.session
        if session.in_transaction():  # nested use joins the outer transaction
            yield session
            return
        session.info["crm_outbox"] = []
        try:
            with session.begin():
                yield session
                outbox.write_recorded(session, self.metadata)  # in the transaction, its events' rows together
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            # two writers raced past the same uniqueness check: the loser gets a clear 409, not a 500
            log.info("unique constraint hit, answered as a conflict: %s", type(exc.orig).__name__)
            raise ServiceError("conflict", "a record with the same unique values was just saved; "
                                           "reload and try again") from None
        finally:
            pending = session.info.pop("crm_outbox", [])
            session.info.pop("crm_outbox_rows", None)
            session.info.pop(outbox.WITH_EVENTS, None)  # rows of a transaction that failed before writing them
        if pending:
            if self.order is not None:  # in the queue before anything can yield: the queue is in commit order
                self.order.committed(pending)
            faults.maybe_kill_after_commit()
            if self._deferred is not None:
                self._deferred.extend(pending)
            elif self.order is not None:
                self.order.publish(self.publish_now)
            else:
                self.publish_now(pending)

    @contextmanager
    def read(self):
        """A Core connection in a read-only transaction, for hot reads that need no ORM objects (no
        Session, no identity map). On SQLite it takes no write lock and cannot
        write; on PostgreSQL the transaction is READ ONLY (see db.reader). Inside `transaction()` it
        reads through the session's own connection, so it sees what the transaction has written -- once the
        transaction has used the database or holds changes to write; a transaction that has done neither
        (an RPC that only reads) reads through the reader, and never takes SQLite's write lock for it."""
        if self._session is not None and _has_begun(self._session):
            yield self._session.connection()
            return
        with reader(self.engine).connect() as conn:
            try:
                yield conn
            finally:
                conn.rollback()

    def emit(self, type_: str, data: dict, actor: Actor | None = None) -> dict:
        session = self.session
        if not session.in_transaction():
            raise RuntimeError("emit() must be called inside db.transaction()")
        return outbox.record(session, self.metadata, self.producer, type_, data, actor or self.actor,
                             self.request_id)

    def publish_now(self, envelopes: list[dict]) -> None:
        try:
            outbox.publish_committed(self.engine, self.metadata, self.publisher, envelopes, self.marks)
        except Exception as exc:
            log.warning("publishing after commit failed (%s); the relay will retry", type(exc).__name__)

    def publish_deferred(self) -> None:
        """Publish, in commit order, the events of the transactions committed with `defer_publish`."""
        if self._deferred:
            envelopes, self._deferred = self._deferred, []
            if self.order is not None:  # queued at commit; sent with whatever committed before them
                self.order.publish(self.publish_now)
            else:
                self.publish_now(envelopes)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


def _has_begun(session: Session) -> bool:
    """Whether the session's transaction has a database connection (it read or wrote) or changes to flush."""
    transaction = session.get_transaction()
    if transaction is None:
        return False
    return bool(transaction._connections or session.new or session.dirty or session.deleted)


def is_unique_violation(exc: IntegrityError) -> bool:
    """A duplicate key (PostgreSQL SQLSTATE 23505, SQLite "UNIQUE constraint failed"), not a NULL or FK error."""
    orig = exc.orig
    if getattr(orig, "pgcode", None) == "23505" or getattr(orig, "sqlstate", None) == "23505":
        return True
    return "UNIQUE constraint failed" in str(orig)
