"""The send log's writes during a campaign send (messages rows, their events and activities, the job's counters).

The rule that makes a send exactly-once per address (see send_job for the whole argument):
1. a recipient's row is committed (`pending`, unique per campaign and address) before anything is sent to it;
2. `handed_at` is committed after the message's body went out and before the final "." of SMTP DATA, the
   moment the server may accept it;
3. the outcome (sent, failed) of a batch is committed after the batch (a refusal at once, with the next mark).
After a crash, a pending row with `handed_at` may have been accepted: it is counted as sent ("presumed") and
never sent again; a pending row without it was never accepted (the server drops a DATA whose "." never
came) and is sent by the resumed job.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, create_engine, func, select, update
from sqlalchemy.pool import NullPool
from sqlalchemy.orm import Session

import crm_marketing_contracts as c
from crm_common import bulk, config, outbox
from crm_common.db import utcnow
from crm_marketing.domain import activity
from crm_marketing.models import Base, Message, Suppression

M = Message.__table__
REAL = M.c.is_test == False  # noqa: E712 - `is_test = false`: the partial unique index's own predicate
PRESUMED = "presumed sent: the sender stopped during this message's handoff (never sent again)"


@dataclass
class Item:
    """One message of the batch being sent."""

    id: str
    email: str
    email_hash: str
    member_id: str | None
    account_id: str | None
    variant_id: str | None
    data: bytes = b""
    attempts: int = 0


@dataclass
class Outcomes:
    """What happened to the batch's messages, waiting to be committed."""

    sent: list = field(default_factory=list)  # Items
    now: list = field(default_factory=list)  # (message id, values): refusals, written with the next mark


def new_ids(n: int) -> list[str]:
    """n random UUIDs (version 4, as crm_common.db.new_id) from one read of the system's random source, not one
    read per row (a batch's messages, their activities)."""
    raw = os.urandom(16 * n)
    return [str(uuid.UUID(bytes=raw[i:i + 16], version=4)) for i in range(0, 16 * n, 16)]


def claim(engine, rows: list[dict]) -> None:
    """Commit the batch's rows (pending or skipped) before any of them is sent: rule 1. An address another
    run logged meanwhile fails the unique index, and the batch with it (nobody is mailed twice)."""
    with Session(engine) as session, session.begin():
        bulk.insert_rows(session, M, rows)


_MARK = update(M).where(M.c.id == bindparam("mid")).values(handed_at=bindparam("at"), attempts=M.c.attempts + 1)
_OUTCOME = update(M).where(M.c.id == bindparam("mid"))


def mark(engine, item: Item, outcomes: Outcomes) -> None:
    """Rule 2: the message's handoff, committed before its final "."; refusals waiting go in the same commit."""
    with engine.begin() as conn:
        for message_id, values in outcomes.now:
            conn.execute(_OUTCOME.values(**values), {"mid": message_id})
        outcomes.now.clear()
        conn.execute(_MARK, {"mid": item.id, "at": utcnow()})


class Marker:
    """Rule 2 as a send runs it. On PostgreSQL each mark is one autocommitted statement on a connection of its
    own with `synchronous_commit` off, and it is pipelined with the "." (`__call__` sends the statement and
    returns once it has left for the server; `confirm()`, after the ".", waits for its result):
    - a crash before the statement has left: no mark and no "." (the server drops the message): sent again;
    - a crash after it has left: the server has the whole statement and commits it (a statement the server
      received runs to its end though its client is gone), so the row is presumed sent; the "." follows it
      at once, with nothing to wait for in between. Waiting for the commit's answer before the "." (as
      before) left the whole round trip, and under load the sender's wait to be scheduled again, between a
      mark's commit and its "." (a kill -9 mid-batch then left two or four recipients marked without their
      message);
    - the mark failing after the "." went (the database lost): the job fails and that message, accepted
      but not marked, is sent again by the resumed job (the one duplicate this allows, with a crash of the
      database server itself, which may forget the last fraction of a second of marks: they do not wait for
      the disk; CRM_SEND_MARK_SYNC=on waits, about ten times slower)."""

    def __init__(self, engine):
        self.engine, self.conn, self.pending = engine, None, False
        if engine.dialect.name == "postgresql":  # a connection of its own, outside the job's small pool
            import psycopg2
            args, kwargs = engine.dialect.create_connect_args(engine.url)
            self.conn = psycopg2.connect(*args, **kwargs, async_=1)
            _wait(self.conn)
            self.cur = self.conn.cursor()
            if config.env("CRM_SEND_MARK_SYNC", "off") != "on":
                self._run("SET synchronous_commit TO off")
            self._run("PREPARE crm_mark (varchar, timestamptz) AS UPDATE messages "
                      "SET handed_at = $2, attempts = attempts + 1 WHERE id = $1")
            self._own = create_engine(engine.url, poolclass=NullPool)  # refusals' outcomes

    def _run(self, statement: str, params=None) -> None:
        self.cur.execute(statement, params)
        _wait(self.conn)

    def __call__(self, item: Item, outcomes: Outcomes) -> None:
        if self.conn is None:
            return mark(self.engine, item, outcomes)
        self.confirm()
        if outcomes.now:
            with self._own.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for message_id, values in outcomes.now:
                    conn.execute(_OUTCOME.values(**values), {"mid": message_id})
            outcomes.now.clear()
        self.cur.execute("EXECUTE crm_mark (%s, %s)", (item.id, utcnow()))
        self.pending = True
        _wait(self.conn, until_sent=True)

    def confirm(self) -> None:
        """The last mark's result (after its "."): raises if it failed."""
        if self.pending:
            self.pending = False
            _wait(self.conn)

    def close(self) -> None:
        if self.conn is not None:
            conn, self.conn = self.conn, None
            conn.close()
            self._own.dispose()


def _wait(conn, until_sent: bool = False) -> None:
    """Drive an asynchronous psycopg2 connection until its statement is done (or, `until_sent`, until the
    statement has left for the server: waiting for its answer is all that is left)."""
    import select

    import psycopg2.extensions as ext
    while True:
        state = conn.poll()
        if state == ext.POLL_OK:
            return
        if state == ext.POLL_READ:
            if until_sent:
                return
            select.select([conn.fileno()], [], [])
        elif state == ext.POLL_WRITE:
            select.select([], [conn.fileno()], [])
        else:
            raise RuntimeError(f"unexpected psycopg2 poll state {state}")


def refused(item: Item, code: int, response: str, permanent: bool, final: bool) -> tuple:
    """The row's values after an SMTP refusal: failed (hard, or soft after its last try), else pending again."""
    values = {"smtp_code": code, "smtp_response": response[:500], "handed_at": None}
    if permanent or final:
        values.update(status="failed", bounce="hard" if permanent else "soft", bounced_at=utcnow())
    return item.id, values


# the batch's messages sent, in one statement that answers when each was handed over (an expanding IN: one
# statement cached, whatever the batch's size)
_SENT = (update(M).where(M.c.id.in_(bindparam("ids", expanding=True)))
         .values(status="sent", sent_at=M.c.handed_at, smtp_code=250).returning(M.c.id, M.c.sent_at))


def write_outcomes(engine, job, campaign_id: str, outcomes: Outcomes, counters: dict, suppress: list) -> None:
    """Rule 3: the batch's outcomes, one email_sent event and one activity per message sent, the hard bounces
    on the suppression list and the job's counters, in one transaction."""
    with Session(engine) as session, session.begin():
        for message_id, values in outcomes.now:
            session.execute(_OUTCOME.values(**values), {"mid": message_id})
        outcomes.now.clear()
        if outcomes.sent:
            sent_at = dict(session.execute(_SENT, {"ids": [item.id for item in outcomes.sent]}).all())
            announce(session, job, campaign_id, [(item, sent_at[item.id]) for item in outcomes.sent])
            outcomes.sent.clear()
        for address, digest in suppress:
            add_hard_bounce(session, job, campaign_id, address, digest)
        job.store(job.counters(counters["processed"], counters["sent"]), session)


def announce(session, job, campaign_id: str, sent: list[tuple[Item, datetime]]) -> None:
    """One marketing.email_sent.v1 and one email_sent activity per message, written together (two bulk inserts)."""
    outbox.record_batch(session, Base.metadata, "marketing", c.EMAIL_SENT, [
        {"message_id": item.id, "campaign_id": campaign_id, "variant_id": item.variant_id,
         "member_id": item.member_id, "email_hash": item.email_hash, "is_test": False, "sent_at": at.isoformat()}
        for item, at in sent], job.actor, None)
    activity.record_many(session, "email_sent", [
        {"id": activity_id, "member_id": item.member_id, "email_hash": item.email_hash, "account_id": item.account_id,
         "ref_id": campaign_id, "detail": {"message_id": item.id, "variant_id": item.variant_id}, "occurred_at": at}
        for (item, at), activity_id in zip(sent, new_ids(len(sent)))])


def add_hard_bounce(session, job, campaign_id: str, address: str, digest: str) -> None:
    """The address on the suppression list (reason hard_bounce, source the campaign), unless it is there."""
    found = session.execute(select(Suppression.id).where(Suppression.email_hash == digest,
                                                         Suppression.deleted_at.is_(None))).first()
    if found is not None:
        return
    entry = Suppression(email=address, email_hash=digest, reason="hard_bounce", source=f"campaign:{campaign_id}",
                        note="refused by the SMTP server at send time")
    session.add(entry)
    session.flush()
    session.info["crm_outbox"] = []
    outbox.record(session, Base.metadata, "marketing", c.SUPPRESSION_ADDED,
                  {"id": entry.id, "reason": entry.reason, "source": entry.source}, job.actor, None)
    outbox.write_recorded(session, Base.metadata)
    session.info.pop("crm_outbox")


def recover(engine, job, campaign_id: str) -> int:
    """After a crash: pending rows marked as handed over are presumed sent (announced, never resent)."""
    with Session(engine) as session, session.begin():
        rows = session.execute(select(M.c.id, M.c.email, M.c.email_hash, M.c.member_id, M.c.variant_id,
                                      M.c.handed_at).where(
            M.c.campaign_id == campaign_id, REAL, M.c.status == "pending",
            M.c.handed_at.is_not(None))).all()
        if not rows:
            return 0
        session.execute(update(M).where(M.c.id.in_([r.id for r in rows])).values(
            status="sent", sent_at=M.c.handed_at, smtp_response=PRESUMED))
        announce(session, job, campaign_id, [(Item(r.id, r.email, r.email_hash, r.member_id, None, r.variant_id),
                                              r.handed_at) for r in rows])
    return len(rows)


def counts(engine, campaign_id: str) -> dict:
    """The campaign's messages by status (not tests)."""
    with engine.connect() as conn:
        return dict(conn.execute(select(M.c.status, func.count()).where(
            M.c.campaign_id == campaign_id, REAL).group_by(M.c.status)).all())


# -- privacy (domain.privacy.PARTS): the send log of an address --------------------------------------------

def export(ctx, address: str) -> tuple[dict, dict]:
    """The messages sent (or not) to an address; nothing when there are none (the counts name what was found)."""
    from crm_marketing_contracts import normalise_email_leniently
    from crm_marketing.domain.suppressions import email_hash
    rows = ctx.session.execute(select(M.c.id, M.c.campaign_id, M.c.status, M.c.skip_reason, M.c.is_test,
                                      M.c.sent_at).where(M.c.email_hash == email_hash(
        normalise_email_leniently(address))).order_by(M.c.created_at)).all()
    if not rows:
        return {}, {}
    return ({"messages": [{"id": r.id, "campaign_id": r.campaign_id, "status": r.status, "skip_reason": r.skip_reason,
                           "is_test": r.is_test, "sent_at": r.sent_at.isoformat() if r.sent_at else None}
                          for r in rows]}, {"messages": len(rows)})


def erase(ctx, address: str) -> dict:
    """The address leaves the send log; its rows stay by the hash (so no campaign mails it again, and the
    campaigns' counts hold)."""
    from crm_marketing_contracts import normalise_email_leniently
    from crm_marketing.domain.suppressions import email_hash
    erased = ctx.session.execute(update(M).where(M.c.email_hash == email_hash(normalise_email_leniently(address)),
                                                 M.c.email.is_not(None)).values(email=None)).rowcount
    return {"messages": erased} if erased else {}
