"""The delivery schedule: which deliveries are due (in order per webhook and record), what an answer means,
and when to try again (exponential back-off with jitter for at least CRM_WEBHOOK_RETRY_HOURS, 24).

Plain functions of a session; the sender (`crm_integration.sender`) does the HTTP between `claim` and
`settle`, outside any transaction.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from sqlalchemy import bindparam, exists, func, literal_column, or_, select, text
from sqlalchemy.orm import Session

from crm_common import config
from crm_common.db import utcnow
from crm_integration_contracts import WEBHOOK_DISABLED
from crm_integration.domain.webhooks import TEST_TYPE, hold
from crm_integration.models import SETTLED, UNSETTLED, Delivery, Webhook

TIMEOUT = 15.0  # seconds a receiver has per attempt
LEASE = timedelta(seconds=TIMEOUT + 30)  # a claimed delivery whose sender died is due again after this


def retry_window() -> timedelta:
    return timedelta(hours=config.env_float("CRM_WEBHOOK_RETRY_HOURS", 24.0))


def backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds before attempt `attempts + 1`: base * 2^(attempts - 1), capped, times a jitter of 0.5 to 1."""
    base = config.env_float("CRM_WEBHOOK_RETRY_BASE", 5.0)
    cap = config.env_float("CRM_WEBHOOK_RETRY_CAP", 3 * 3600.0)
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return delay * (0.5 + (rng or random).random() / 2)


def retry_after(value: str | None, now: datetime) -> float | None:
    """A Retry-After header (seconds or an HTTP date) in seconds from now, at most a day; None when absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), 86400.0)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min((when - now).total_seconds(), 86400.0))


@dataclass(frozen=True)
class Job:
    """What the sender needs for one attempt, read while claiming."""
    delivery_id: str
    url: str
    fmt: str
    secrets: tuple[str, ...]
    envelope: dict


def _unsettled(table):
    """`status IN ('pending', 'sending', 'failed')` with the values written in the SQL, as the partial indexes'
    predicate is: so the planner (SQLite's too, which never looks through a bound parameter) may use them."""
    return table.c.status.in_([literal_column(f"'{status}'") for status in UNSETTLED])


def _claim_statements():
    """The claim's select (plain, and locking with SKIP LOCKED for PostgreSQL) and its update, built once: a
    round runs them with new parameters only (built per round, their cache keys cost more than the query).

    The select walks `ix_webhook_deliveries_claim` (the unsettled deliveries by due time, then feed order) from
    the earliest and stops after `limit` taken: what is not due yet is past its end, so a claim reads about
    what it takes however long the backlog (it never sorts it). Each candidate is checked in
    `ix_webhook_deliveries_waiting` for an earlier unsettled delivery of its webhook and record."""
    d, w = Delivery.__table__, Webhook.__table__
    earlier = d.alias("earlier")
    now = bindparam("now", type_=d.c.next_attempt_at.type)
    blocked = exists(select(earlier.c.id).where(
        earlier.c.webhook_id == d.c.webhook_id, earlier.c.record_key == d.c.record_key,
        earlier.c.seq < d.c.seq, _unsettled(earlier)))
    query = (select(d.c.id, d.c.envelope, w.c.url, w.c.format, w.c.secret, w.c.previous_secret,
                    w.c.previous_secret_expires_at)
             .join_from(d, w, w.c.id == d.c.webhook_id)
             .where(_unsettled(d), d.c.next_attempt_at <= now, ~blocked,
                    w.c.deleted_at.is_(None), or_(w.c.active.is_(True), d.c.event_type == TEST_TYPE))
             .order_by(d.c.next_attempt_at, d.c.seq).limit(bindparam("limit")))
    mark = (d.update().where(d.c.id.in_(bindparam("ids", expanding=True)))
            .values(status="sending", next_attempt_at=bindparam("lease", type_=d.c.next_attempt_at.type),
                    first_attempt_at=func.coalesce(d.c.first_attempt_at, now)))
    return query, query.with_for_update(skip_locked=True, of=d), mark


_CLAIM, _CLAIM_LOCKING, _MARK_SENDING = _claim_statements()


def claim(session: Session, limit: int, now: datetime | None = None) -> list[Job]:
    """Take up to `limit` due deliveries (marked `sending` for a lease), the longest due first: each the earliest
    unsettled one of its webhook and record, of a live webhook (a test ping goes even to a disabled one). Two
    statements whatever the number: the select (rows locked, others' skipped, on PostgreSQL) and one update of them all."""
    now = now or utcnow()
    session.flush()  # Core statements do not autoflush: the session's own new deliveries count too
    query = _CLAIM_LOCKING if session.get_bind().dialect.name == "postgresql" else _CLAIM
    rows = session.execute(query, {"now": now, "limit": limit}).all()
    if not rows:
        return []
    session.execute(_MARK_SENDING, {"ids": [row.id for row in rows], "lease": now + LEASE, "now": now})
    jobs = []
    for row in rows:
        secrets = (row.secret,) + ((row.previous_secret,) if row.previous_secret and row.previous_secret_expires_at
                                   and row.previous_secret_expires_at > now else ())
        jobs.append(Job(row.id, row.url, row.format, secrets, row.envelope))
    return jobs


@dataclass(frozen=True)
class Answer:
    """What one attempt got: the status code (None: no answer), its Retry-After, the latency, an error."""
    code: int | None
    retry_after: str | None = None
    latency_ms: int | None = None
    error: str | None = None


def settle(ctx, delivery_id: str, answer: Answer, now: datetime | None = None) -> str:
    """Record an attempt's outcome; the delivery's new status. A 2xx succeeds; a 410 disables the webhook at
    once; a 429 or 503 with Retry-After is tried then; anything else after the back-off, until the retry
    window from the first attempt is over: then the delivery is dead and the webhook disabled (an event
    tells its owner)."""
    now = now or utcnow()
    session = ctx.session
    delivery = session.get(Delivery, delivery_id, populate_existing=True)  # as claim's update left it
    if delivery is None or delivery.status != "sending":
        return delivery.status if delivery else "gone"
    delivery.attempts += 1
    delivery.response_code, delivery.latency_ms, delivery.error = answer.code, answer.latency_ms, answer.error
    hook = session.get(Webhook, delivery.webhook_id)
    if answer.code is not None and 200 <= answer.code < 300:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "succeeded", now, None
        return delivery.status
    if answer.code == 410 and delivery.event_type != TEST_TYPE:
        delivery.status, delivery.next_attempt_at = "dead", None
        _disable(ctx, hook, "the receiver answered 410 Gone")
        return delivery.status
    wait = retry_after(answer.retry_after, now) if answer.code in (429, 503) else None
    wait = backoff(delivery.attempts) if wait is None else wait
    started = delivery.first_attempt_at or now
    if delivery.event_type == TEST_TYPE or now + timedelta(seconds=wait) - started > retry_window():
        delivery.status, delivery.next_attempt_at = "dead", None
        if delivery.event_type != TEST_TYPE:
            _disable(ctx, hook, f"deliveries failed for {retry_window()}")
        return delivery.status
    # a retry planned; held (no due time) while the webhook is paused: the claim never walks it
    live = hook is not None and hook.active and hook.deleted_at is None
    delivery.status, delivery.next_attempt_at = "failed", now + timedelta(seconds=wait) if live else None
    return delivery.status


def _succeeded_statement():
    d = Delivery.__table__
    return (d.update().where(d.c.id == bindparam("delivery_id"), d.c.status == "sending")
            .values(status="succeeded", delivered_at=bindparam("now", type_=d.c.delivered_at.type),
                    next_attempt_at=None, error=None, attempts=d.c.attempts + 1,
                    response_code=bindparam("code", type_=d.c.response_code.type),
                    latency_ms=bindparam("latency", type_=d.c.latency_ms.type)))


_SUCCEEDED = _succeeded_statement()
# PostgreSQL: the same in one statement and one round trip (psycopg2 runs an UPDATE's executemany row by row)
_SUCCEEDED_PG = text(
    "UPDATE webhook_deliveries AS d SET status = 'succeeded', delivered_at = :now, next_attempt_at = NULL, "
    "error = NULL, attempts = d.attempts + 1, response_code = v.code, latency_ms = v.latency "
    "FROM unnest(CAST(:ids AS text[]), CAST(:codes AS integer[]), CAST(:latencies AS integer[])) "
    "AS v(id, code, latency) WHERE d.id = v.id AND d.status = 'sending'"
).bindparams(bindparam("now", type_=Delivery.__table__.c.delivered_at.type))


# SQLite (3.33 and later: UPDATE ... FROM): the same over the rows given as one JSON array of [id, code, latency]
_SUCCEEDED_SQLITE = text(
    "UPDATE webhook_deliveries SET status = 'succeeded', delivered_at = :now, next_attempt_at = NULL, "
    "error = NULL, attempts = attempts + 1, response_code = v.value ->> 1, latency_ms = v.value ->> 2 "
    "FROM json_each(:rows) AS v WHERE webhook_deliveries.id = v.value ->> 0 "
    "AND webhook_deliveries.status = 'sending'"
).bindparams(bindparam("now", type_=Delivery.__table__.c.delivered_at.type))


def settle_many(ctx, outcomes: list[tuple[str, Answer]], now: datetime | None = None) -> int:
    """Record many attempts' outcomes in the caller's transaction: the 2xx ones (the common case) by one
    statement for them all, any other one as `settle` does; how many were recorded."""
    now = now or utcnow()
    ok = [(delivery_id, answer.code, answer.latency_ms)
          for delivery_id, answer in outcomes if answer.code is not None and 200 <= answer.code < 300]
    if ok:
        connection = ctx.session.connection()
        dialect = connection.dialect
        if dialect.name == "postgresql":
            connection.execute(_SUCCEEDED_PG, {"now": now, "ids": [r[0] for r in ok], "codes": [r[1] for r in ok],
                                               "latencies": [r[2] for r in ok]})
        elif dialect.name == "sqlite" and dialect.dbapi.sqlite_version_info >= (3, 38):  # ->> since 3.38
            connection.execute(_SUCCEEDED_SQLITE, {"now": now, "rows": json.dumps(ok)})
        else:
            connection.execute(_SUCCEEDED, [{"delivery_id": delivery_id, "now": now, "code": code, "latency": latency}
                                            for delivery_id, code, latency in ok])
    done = {row[0] for row in ok}
    for delivery_id, answer in outcomes:
        if delivery_id not in done:
            settle(ctx, delivery_id, answer, now)
    return len(outcomes)


def _disable(ctx, hook: Webhook | None, reason: str) -> None:
    if hook is None or not hook.active:
        return
    hook.active, hook.disabled_reason = False, reason
    hold(ctx.session, hook.id)
    ctx.emit(WEBHOOK_DISABLED, {"id": hook.id, "owner_id": hook.owner_id, "reason": reason,
                                "url_host": urlsplit(hook.url).hostname})


def retention() -> timedelta:
    return timedelta(days=config.env_float("CRM_WEBHOOK_DELIVERY_RETENTION_DAYS", 30.0))


def prune(session: Session, keep: timedelta | None = None, batch: int = 1000, now: datetime | None = None) -> int:
    """Forget one batch of settled deliveries (delivered or given up) made more than `keep` ago (the setting
    CRM_WEBHOOK_DELIVERY_RETENTION_DAYS, 30): how many. The timer calls it, a transaction a batch, until a batch
    comes back short; unsettled deliveries are kept however old."""
    d = Delivery.__table__
    cutoff = (now or utcnow()) - (retention() if keep is None else keep)
    session.flush()  # Core statements do not autoflush
    ids = session.execute(select(d.c.id).where(d.c.status.in_(SETTLED), d.c.created_at < cutoff)
                          .limit(batch)).scalars().all()
    if ids:
        session.execute(d.delete().where(d.c.id.in_(ids)))
    return len(ids)
