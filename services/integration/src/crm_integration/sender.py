"""The webhook sender: a background loop of the integration service that claims due deliveries and sends
each in its own green thread, so a slow or dead receiver holds only its own deliveries (15 s at most per
attempt), never the service's event consumer nor another webhook's deliveries.

A nameko dependency provider (nameko is imported here and in service.py only); the schedule's rules are in
`domain.deliveries`, the signing in `domain.signing`, the address check in `crm_common.urlguard`.
"""
from __future__ import annotations

import collections
import logging
import os
import time

import eventlet
from nameko.extensions import DependencyProvider
from sqlalchemy import event

from crm_common import config, urlguard
from crm_common.context import Context
from crm_common.dependencies import Database
from crm_common.unit_of_work import UnitOfWork
from crm_integration import http1
from crm_integration.domain import deliveries, signing
from crm_integration.domain.doorbell import DOORBELL

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024  # of a receiver's answer read (and dropped)
STUCK_ROUND = 60.0  # s: a round open longer is taken for lost
JOINED_LATELY = 0.05  # s: a consumer's transaction did a round this recently: the loop leaves the rounds to it


class Connections:
    """Kept-alive connections per checked target (scheme, host, port and the pinned address): an attempt takes
    an idle one or opens one, and gives it back when the answer was read whole and the receiver keeps it open.
    At most `per_target` idle ones are kept per target; a connection is used by one attempt at a time."""

    def __init__(self, per_target: int = 8):
        self.per_target = per_target
        self._idle: dict[tuple, list] = collections.defaultdict(list)

    @staticmethod
    def key(target: urlguard.Target) -> tuple:
        return target.scheme, target.host, target.port, target.address

    def take(self, target: urlguard.Target, timeout: float):
        idle = self._idle.get(self.key(target))
        while idle:
            conn = idle.pop()
            if conn.sock is not None:
                if conn.timeout != timeout:
                    conn.timeout = timeout
                    conn.sock.settimeout(timeout)
                return conn, True
            http1.close(conn)
        return urlguard.connect(target, timeout), False

    def give_back(self, target: urlguard.Target, conn) -> None:
        """A connection whose last answer was read whole and which both sides keep open."""
        idle = self._idle[self.key(target)]
        if conn.sock is None or len(idle) >= self.per_target:
            http1.close(conn)
        else:
            idle.append(conn)


_TARGETS: dict[tuple, urlguard.Target] = {}


def target_of(url: str) -> urlguard.Target:
    """`urlguard.check` of a URL (UnsafeUrl when refused), remembered when the check resolved no name (an
    address literal: the same answer every time under the same settings, which are part of the key); a host
    name is resolved and its addresses checked again at every attempt (DNS rebinding)."""
    key = (url, os.environ.get("CRM_WEBHOOK_ALLOW_HOSTS"), os.environ.get("CRM_ENV"))
    target = _TARGETS.get(key)
    if target is not None:
        return target
    resolved = []

    def resolve(host: str, port: int) -> list[str]:
        resolved.append(host)
        return urlguard._resolve(host, port)
    target = urlguard.check(url, resolve=resolve)
    if not resolved:
        if len(_TARGETS) >= 4096:
            _TARGETS.clear()
        _TARGETS[key] = target
    return target


def send(job: deliveries.Job, timeout: float = deliveries.TIMEOUT, pool: Connections | None = None
         ) -> deliveries.Answer:
    """One attempt: the body signed now, POSTed to the checked address of the URL (over a kept-alive
    connection of `pool` when it has one; a reused connection the receiver had closed is retried once on a
    new one); never follows redirects (`http1.post`)."""
    body = signing.body(job.envelope, job.fmt)
    headers = signing.headers(job.delivery_id, int(time.time()), body, *job.secrets,
                              cloudevents=job.fmt == "cloudevents")
    started = time.monotonic()
    try:
        target = target_of(job.url)
    except urlguard.UnsafeUrl as exc:
        return deliveries.Answer(None, error=f"refused: {exc}"[:300])
    conn, reused = pool.take(target, timeout) if pool is not None else (urlguard.connect(target, timeout), False)
    kept = False
    try:
        with eventlet.Timeout(timeout, False):  # the whole attempt, however slowly the receiver trickles
            try:
                code, retry_after, reusable = http1.post(conn, target.path, headers, body, MAX_BODY)
            except (ConnectionResetError, BrokenPipeError):
                if not reused:
                    raise
                http1.close(conn)  # the receiver closed the idle connection: once more on a new one
                conn = urlguard.connect(target, timeout)
                code, retry_after, reusable = http1.post(conn, target.path, headers, body, MAX_BODY)
            answer = deliveries.Answer(code, retry_after, int((time.monotonic() - started) * 1000))
            if pool is not None and reusable:
                pool.give_back(target, conn)
                kept = True
            return answer
        return deliveries.Answer(None, latency_ms=int(timeout * 1000), error=f"no answer within {timeout:g} s")
    except Exception as exc:  # connection refused, reset, TLS: the attempt failed; never the URL in the text
        return deliveries.Answer(None, latency_ms=int((time.monotonic() - started) * 1000),
                                 error=type(exc).__name__)
    finally:
        if not kept:
            http1.close(conn)


class SendLoop:
    """One round (`tick()`) of the sender, in one transaction: record the outcomes of the attempts that
    finished (one statement for the answered 2xx ones), and claim due deliveries ahead of the green threads
    (up to three times their number in all, so a thread that finishes takes the next claimed one without
    waiting for a round, even while a slow claim runs; a claimed one waits at most two attempts of 15 s, well
    within its lease); then start as many as threads are free. A round claims only when at most one thread's
    worth of claimed ones are left waiting, and settles when it claims, when the outcomes fill a batch, or when
    nothing else is running: few large rounds, each one commit. `transact(fn, *args)` runs `fn(ctx, *args)` in one transaction of the
    service's database. Connections to receivers are kept alive between attempts (`Connections`)."""

    def __init__(self, transact, concurrency: int):
        self.transact = transact
        self.concurrency = concurrency
        self.pool = eventlet.GreenPool(concurrency)
        self.connections = Connections(per_target=concurrency)  # as many as can be in flight to one receiver
        self.ready: collections.deque = collections.deque()  # claimed, not started (each under its lease)
        self.done: collections.deque = collections.deque()
        self.settled = 0
        self.round_open = 0.0  # since when a round (the loop's, or one the consumer joined) is open: no second one
        self.joined_at = 0.0  # when a consumer's transaction last did a round (`join`)

    def join(self, ctx) -> int:
        """The sender's round in the caller's transaction (the consumer's, which has just queued deliveries):
        the finished attempts settled and due deliveries claimed there (as many as threads are free), so that a
        steady flow of events needs no round of the sender's own. Once that transaction commits, the claimed
        ones start; rolled back, nothing starts and the outcomes wait for the next round. How many it claimed
        (0 while another round is open)."""
        room = self.pool.free() - len(self.ready)
        if self.in_round or (room <= 0 and not self.done):
            return 0
        batch = [self.done.popleft() for _ in range(len(self.done))]
        jobs: list = []
        self.round_open = opened = time.monotonic()
        open_ = [True]

        def committed(session):
            if open_[0]:
                open_[0] = False
                self._close_round(opened)
                self.joined_at = time.monotonic()
                self.settled += len(batch)
                self.ready.extend(jobs)
                self._start_ready()

        def rolled_back(session):
            if open_[0]:
                open_[0] = False
                self._close_round(opened)
                self.done.extendleft(reversed(batch))
        event.listen(ctx.session, "after_commit", committed, once=True)
        event.listen(ctx.session, "after_rollback", rolled_back, once=True)
        if batch:
            deliveries.settle_many(ctx, batch)
        if room > 0:
            jobs.extend(deliveries.claim(ctx.session, room))
        return len(jobs)

    @property
    def in_round(self) -> bool:
        """A round is open (for at most STUCK_ROUND: a transaction that neither committed nor rolled back, its
        connection lost, must not stop the sender; its claims come due again after their lease)."""
        return bool(self.round_open) and time.monotonic() - self.round_open < STUCK_ROUND

    def _close_round(self, opened: float) -> None:
        if self.round_open == opened:
            self.round_open = 0.0

    def tick(self, eager: bool = True) -> int:
        """How much happened (claimed and started): 0 means nothing is due now (the loop then waits for the
        doorbell, or its tick for retries coming due). Not `eager` (the consumer joined a round lately and
        nobody rang): no round unless the outcomes fill a batch; the consumer's next transaction settles them."""
        started = self._start_ready()
        if self.in_round or (not eager and len(self.done) < self.concurrency):
            return started
        running = self.pool.running()
        room = 3 * self.concurrency - running - len(self.ready)
        wanted = room > 0 and (len(self.ready) <= self.concurrency or running == 0)
        settle = wanted or len(self.done) >= self.concurrency or (self.done and running == 0 and not self.ready)
        if not settle:
            return started
        batch = [self.done.popleft() for _ in range(len(self.done))]

        def round_(ctx):
            if batch:
                deliveries.settle_many(ctx, batch)
            return deliveries.claim(ctx.session, room) if wanted else []
        self.round_open = opened = time.monotonic()
        try:
            jobs = self.transact(round_)
        except Exception as exc:  # kept for the next round: a lost outcome would send the delivery again
            log.warning("webhook settle and claim: %s; will try again", type(exc).__name__)
            self.done.extendleft(reversed(batch))
            return started
        finally:
            self._close_round(opened)
        self.settled += len(batch)
        self.ready.extend(jobs)
        # the outcomes settled do not count: the claim ran after them in the same transaction, so a round that
        # settled and claimed nothing found nothing else due (a delivery they held back in order included)
        return started + self._start_ready() + len(jobs)

    def _start_ready(self) -> int:
        count = 0
        while self.ready and self.pool.free():
            self.pool.spawn_n(self._deliver, self.ready.popleft())
            count += 1
        return count

    def _deliver(self, job: deliveries.Job) -> None:
        answer = send(job, pool=self.connections)
        self.done.append((job.delivery_id, answer))


class WebhookSender(DependencyProvider):
    """Runs the send loop beside the service's entrypoints, on the service's database (its `Database`)."""

    def __init__(self):
        self.database = None
        self.loop = None
        self._running = False

    def setup(self):
        self.database = next(d for d in self.container.dependencies if isinstance(d, Database))
        self.tick = config.env_float("CRM_WEBHOOK_TICK", 0.2)
        self.loop = SendLoop(self._run, config.env_int("CRM_WEBHOOK_CONCURRENCY", 50))

    def start(self):
        self._running = True
        DOORBELL.join = self.loop.join  # the consumer's transactions settle and claim for it (handlers.every_batch)
        self.container.spawn_managed_thread(self._loop)

    def stop(self):
        self._running = False
        if DOORBELL.join == self.loop.join:
            DOORBELL.join = None

    def kill(self):
        self.stop()

    def _uow(self) -> UnitOfWork:
        db = self.database
        return UnitOfWork(db.engine, db.metadata, self.container.service_name, db.publisher, None, None)

    def _run(self, fn, *args):
        uow = self._uow()
        try:
            with uow.transaction() as session:
                return fn(Context(session, uow.caller, uow.emit, None, None, uow), *args)
        finally:
            uow.close()

    def _loop(self):
        rung = True
        while self._running:
            busy = 0
            try:  # while the consumer does the rounds (it joined one lately), only a ring makes one here
                busy = self.loop.tick(eager=rung or time.monotonic() - self.loop.joined_at > JOINED_LATELY)
            except Exception as exc:
                log.warning("webhook sender: %s; will try again", type(exc).__name__)
            if busy or self.loop.pool.running():
                rung = DOORBELL.wait(0.005)  # work in flight: look again soon
            else:
                rung = DOORBELL.wait(self.tick)  # idle: until deliveries are queued, or the tick (retries due)
