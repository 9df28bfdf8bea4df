"""An entrypoint that consumes every event a service subscribes to, with retries and dead letters.

    class SalesService(KernelService):
        name = "sales"
        db = Database(Base.metadata)
        on_event = event_stream(handlers.HANDLERS)

`HANDLERS` is the service's table `{event type: handler}` (`crm_common.entrypoint.handler_table`), the
same table its queue's bindings come from (the `crm.subscriptions` entry point). Each event runs its
handler `handler(ctx, data, envelope)` in one transaction with the inbox mark, so a redelivered event
has one effect; `ctx.emit(...)` writes an event to the outbox in that transaction.
A handler that raises is retried after each delay in CRM_RETRY_DELAYS (delay queues that dead-letter
back to the service queue); after the last, the event goes to the dead-letter store and the queue
keeps flowing.

An event is taken only from its producer: the broker user that published it (the message's
`user_id`, which RabbitMQ checks against the connection's user) must be the one of the service its
type names, or this service's own (retries, replays).
"""
from __future__ import annotations

import functools
import logging
import time
import traceback
from functools import partial

import eventlet
from amqp.exceptions import ConnectionError as AmqpConnectionError

from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer, QueueConsumer

from crm_common import config, deadletters, inbox, metrics, topology
from crm_common.context import ACTOR_KEY, REQUEST_ID_KEY
from crm_common.envelope import is_envelope

log = logging.getLogger(__name__)
ATTEMPT_KEY = "crm_attempt"


class EventStream(Consumer):
    def __init__(self, batch: bool = False, linger_ms: float = 0, **kwargs):
        super().__init__(queue=None, requeue_on_error=True, **kwargs)
        self.batch = batch
        self.linger_ms = linger_ms  # the service's own; <SERVICE>_EVENT_BATCH_LINGER_MS overrides it
        self.linger = 0.0  # seconds the first event waiting may wait for others (set up from linger_ms)
        self._waiting: list = []  # (body, message, context_data) for the next batch
        self._waiting_since = 0.0  # when the first of them arrived (time.monotonic)
        self._draining = False
        self._timer = None  # the thread that drains the waiting batch when its linger is over
        self._stopping = False

    def setup(self):
        service = self.container.service_name
        self.queue = topology.consumer_queue(service)
        # the exchanges the queue binds to, and the delay queues, exist before the queue is consumed
        from crm_common.bus import connect
        with connect(self.container.config.get("AMQP_URI")) as conn:
            topology.ensure(conn, topology.consumer_declarations(service))
        self.linger = max(0.0, config.env_float(f"{service.upper()}_EVENT_BATCH_LINGER_MS", self.linger_ms)) / 1000
        super().setup()

    def stop(self):
        """No batch is left waiting out its linger: what waits goes at once (the container then waits for its
        worker), and so does whatever is delivered until the consumer is cancelled."""
        self._stopping = True
        self._flush()
        super().stop()
        self._flush()

    def _flush(self):
        if self._timer is not None:
            self._timer.kill()
            self._timer = None
        if not self._draining:
            self._drain_when_due()

    def _database(self):
        from crm_common.dependencies import Database
        for dep in self.container.dependencies:
            if isinstance(dep, Database):
                return dep
        raise RuntimeError("an @event_stream service needs a Database dependency")

    def handle_message(self, body, message):
        if isinstance(body, (bytes, str)):
            import json
            body = json.loads(body)
        if not self._from_its_producer(body, message):
            self.queue_consumer.ack_message(message)
            return
        context_data = self.unpack_message_headers(message)
        if is_envelope(body):
            if body.get("request_id"):
                context_data[REQUEST_ID_KEY] = body["request_id"]
            context_data.pop(ACTOR_KEY, None)  # handlers act as the system, the envelope says who caused it
        if self.batch and is_envelope(body) and not context_data.get(ATTEMPT_KEY):
            if not self._waiting:
                self._waiting_since = time.monotonic()
            self._waiting.append((body, message, context_data))
            if self._draining:
                return  # it goes in the next batch, when this one is done
            if self._timer is not None and len(self._waiting) >= self.queue_consumer.prefetch_count:
                self._timer.kill()  # a full batch waits no longer
                self._timer = None
            if self._timer is None:
                self._drain_when_due()
            return
        self._spawn_one(body, message, context_data)

    def _spawn_one(self, body, message, context_data):
        handle_result = partial(self.handle_result, message, body)
        try:
            self.container.spawn_worker(self, (body,), {}, context_data=context_data,
                                        handle_result=handle_result)
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def _drain_when_due(self):
        """Drain the waiting events now if the first has lingered enough (or they fill a batch, or the stream
        stops), else once it has. With no linger (the default) an idle queue's event goes alone, at once; with
        one, the events that arrive within it go in its batch."""
        if not self._waiting:
            return
        due = self._waiting_since + self.linger - time.monotonic()
        if due <= 0 or self._stopping or len(self._waiting) >= self.queue_consumer.prefetch_count:
            self._drain()
        else:
            self._timer = self.container.spawn_managed_thread(partial(self._drain_after, due),
                                                              identifier="EventStream.linger")

    def _drain_after(self, seconds):
        eventlet.sleep(seconds)
        self._timer = None
        if not self._draining:
            self._drain()

    def _drain(self):
        """One worker for every event waiting (at most the prefetch), in one transaction; the events that
        arrive meanwhile wait for the next one."""
        batch, self._waiting = self._waiting, []
        if not batch:
            self._draining = False
            return
        self._draining = True
        context_data = dict(batch[0][2])
        context_data.pop(REQUEST_ID_KEY, None)  # each event's request id is its envelope's
        try:
            self.container.spawn_worker(self, ([body for body, _, _ in batch],), {}, context_data=context_data,
                                        handle_result=partial(self._batch_done, batch))
        except ContainerBeingKilled:
            self._draining = False
            for _, message, _ in batch:
                self.queue_consumer.requeue_message(message)

    def _batch_done(self, batch, worker_ctx, result=None, exc_info=None):
        """A batch applied: ack each event. One failed: the batch was rolled back, so each event goes
        again on its own, with its retries and dead letter as if it had never been batched."""
        if exc_info is None:
            for body, message, _ in batch:
                metrics.EVENTS_CONSUMED.labels(metrics.service_name(), body.get("type") or "unknown", "applied").inc()
            if batch:
                self.queue_consumer.ack_batch([message for _, message, _ in batch])
        else:
            log.info("a batch of %d events failed (%s); applying them one by one", len(batch), exc_info[0].__name__)
            for body, message, context_data in batch:
                self._spawn_one(body, message, context_data)
        self._draining = False
        self._drain_when_due()
        return result, exc_info

    def _from_its_producer(self, body, message) -> bool:
        """An event is taken only as published by the broker user of the producer its type names
        (`sales.` -> the sales service's user), or by this service's own user (its retries and replays).
        Anything else is logged and dropped: not applied, not retried, not dead-lettered."""
        type_ = body.get("type") if isinstance(body, dict) else None
        producer = type_.split(".", 1)[0] if isinstance(type_, str) and "." in type_ else None
        publisher = message.properties.get("user_id")
        if publisher is not None and publisher in (self._user_of(self.container.service_name),
                                                   producer and self._user_of(producer)):
            return True
        log.warning("dropped event %s %s: published by broker user %r, not by its producer %s",
                    type_, body.get("event_id") if isinstance(body, dict) else "?", publisher, producer)
        return False

    def _user_of(self, service: str) -> str:
        users = self.__dict__.setdefault("_users", {})
        if service not in users:
            users[service] = config.broker_user(service)
        return users[service]

    def handle_result(self, message, body, worker_ctx, result=None, exc_info=None):
        event_type = (body.get("type") if isinstance(body, dict) else None) or "unknown"
        metrics.EVENTS_CONSUMED.labels(metrics.service_name(), event_type,
                                       "applied" if exc_info is None else "failed").inc()
        if exc_info is not None:
            try:
                self._retry_or_dead_letter(message, body, worker_ctx, exc_info)
            except Exception:  # could not park it anywhere: give it back to the queue
                log.exception("could not schedule a retry; requeueing")
                self.queue_consumer.requeue_message(message)
                return result, exc_info
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def _retry_or_dead_letter(self, message, body, worker_ctx, exc_info):
        db = self._database()
        attempt = int(worker_ctx.context_data.get(ATTEMPT_KEY) or 0) + 1
        delays = config.retry_delays()
        error = "".join(traceback.format_exception_only(exc_info[0], exc_info[1])).strip()
        event_type = body.get("type") if isinstance(body, dict) else "?"
        if attempt <= len(delays) and is_envelope(body):
            log.warning("event %s failed (attempt %d): %s; retrying in %ss", event_type, attempt, error,
                        delays[attempt - 1])
            db.publisher.publish_to_queue(topology.retry_queue_name(self.container.service_name, attempt),
                                          body, headers={"nameko." + ATTEMPT_KEY: attempt},
                                          exchange=topology.retry_exchange(self.container.service_name))
            metrics.EVENTS_RETRIED.labels(metrics.service_name(), event_type).inc()
        else:
            envelope = body if isinstance(body, dict) else {"raw": str(body)}
            letter = deadletters.store(db.engine, db.metadata, self.queue.name, envelope, error, attempt)
            metrics.EVENTS_DEAD_LETTERED.labels(metrics.service_name(), event_type).inc()
            log.error("event %s dead-lettered as #%s after %d attempts: %s", event_type, letter, attempt, error)


class BatchQueueConsumer(QueueConsumer):
    """The queue consumer of a batched stream, apart from the RPC one: it lets CRM_EVENT_BATCH_MAX events (200)
    wait unacknowledged, not only the container's max_workers (10), since one worker applies them together."""

    def __init__(self):
        super().__init__()
        self._unacked: dict = {}  # (channel, delivery tag) of every delivery not yet acked or requeued

    @functools.cached_property
    def prefetch_count(self):  # read once: the stream asks at each event whether its batch is full
        return max(1, config.env_int("CRM_EVENT_BATCH_MAX", 200))

    def get_consumers(self, consumer_cls, channel):
        # a (re)connection: the broker has taken back every delivery of the connection before, so none is kept
        self._unacked.clear()
        return super().get_consumers(consumer_cls, channel)

    def handle_message(self, provider, body, message):
        self._unacked[(message.channel, message.delivery_tag)] = message  # as it is delivered, in order
        super().handle_message(provider, body, message)

    def ack_message(self, message):
        self._unacked.pop((message.channel, message.delivery_tag), None)
        super().ack_message(message)

    def requeue_message(self, message):
        self._unacked.pop((message.channel, message.delivery_tag), None)
        super().requeue_message(message)

    def ack_batch(self, messages: list) -> None:
        """Ack a batch's messages: in one frame (basic.ack `multiple`) those of the channel's earliest unacked
        deliveries that all belong to the batch, the others (after a delivery still in work: a retry, an event
        of the next batch) one by one. A multiple ack never covers a delivery outside the batch."""
        channel = messages[0].channel
        if any(m.channel is not channel for m in messages) or not channel.connection:
            for message in messages:
                self.ack_message(message)
            return
        ours = {m.delivery_tag: m for m in messages}
        covered = None
        for tag in sorted(t for c, t in self._unacked if c is channel):
            if tag not in ours:
                break
            covered = tag
        if covered is None or covered == min(ours) == max(ours):
            for message in messages:
                self.ack_message(message)
            return
        try:
            ours[covered].ack(multiple=True)
        except AmqpConnectionError:
            pass  # the broker takes them back
        for tag, message in ours.items():
            if tag <= covered:
                self._unacked.pop((channel, tag), None)
            else:
                self.ack_message(message)


class BatchedEventStream(EventStream):
    queue_consumer = BatchQueueConsumer()


def event_stream(table: dict, every=None, batch: bool = False, every_batch=None, every_claims: bool = False,
                 linger_ms: float = 0):
    """The entrypoint applying each event of `table` once, in one transaction with the inbox. `every(ctx,
    envelope)`, when given, runs first for every event the queue takes (identity's audit trail, which
    subscribes to all: topology.ALL), in the same transaction. `every_claims=True`: `every` claims the event
    in the inbox itself, with its own write where it can (inbox.claim_and_insert: one statement on
    PostgreSQL), and returns whether the event was new; a repeat is then not dispatched.

    `batch=True`: the events that wait while a transaction runs are applied together in the next one (one
    worker, one commit; identity's audit of every event). A failing batch is rolled back and its events
    applied one by one, so an event's outcome (applied once, retried, dead-lettered) is the same.
    `linger_ms` (with `batch=True`; `<SERVICE>_EVENT_BATCH_LINGER_MS` overrides it): how long the first event
    to wait may wait for others, so that batches grow under a moderate load too (identity's audit, where an
    entry a few milliseconds later harms nobody); 0, the default, applies an idle queue's event at once.

    `every_batch(ctx, envelopes)` instead of `every`: called once for the events of a transaction that are new
    (claimed in the inbox together, in order), before each is dispatched; with `batch=True`, a batch's events
    in one call (analytics' log and set-based projection), else a one-event list. With `every_claims=True`,
    `every_batch` is given all of them and claims them itself (analytics: its log, unique by event id, is the
    record of what it took), returning the new ones (each once, in order); the inbox is not written."""

    def apply_all(self, db, session, envelopes) -> list[str]:
        from crm_common.entrypoint import Context, dispatch
        for envelope in envelopes:
            if not is_envelope(envelope):
                raise ValueError("message is not an event envelope")
        ctx = Context(session, db.caller, db.emit, None, self, db)
        fresh = ({e["event_id"] for e in every_batch(ctx, envelopes)} if every_claims
                 else inbox.claim_many(session, db.metadata, envelopes))
        claimed, results = [], []
        for envelope in envelopes:  # an event given twice is applied once
            new = envelope["event_id"] in fresh
            fresh.discard(envelope["event_id"])
            results.append("applied" if new else "duplicate")
            if new:
                claimed.append(envelope)
        if not every_claims:
            every_batch(ctx, claimed)
        for envelope in claimed:
            db.request_id = envelope.get("request_id")  # what it emits
            dispatch(Context(session, db.caller, db.emit, envelope.get("request_id"), self, db), envelope, table)
        return results

    def apply(self, db, session, envelope) -> str:
        from crm_common.entrypoint import Context, dispatch
        if not is_envelope(envelope):
            raise ValueError("message is not an event envelope")
        ctx = Context(session, db.caller, db.emit, envelope.get("request_id"), self, db)
        if every_claims:
            if not every(ctx, envelope):
                return "duplicate"
        elif not inbox.claim(session, db.metadata, envelope):
            return "duplicate"
        elif every is not None:
            every(ctx, envelope)
        dispatch(ctx, envelope, table)
        return "applied"

    def on_event(self, envelope):
        db = self.db
        if every_batch is not None:
            with db.transaction() as session:
                results = apply_all(self, db, session, envelope if isinstance(envelope, list) else [envelope])
            return results if isinstance(envelope, list) else results[0]
        if isinstance(envelope, list):  # a batch (EventStream(batch=True))
            results = []
            with db.transaction() as session:
                for one in envelope:
                    db.request_id = one.get("request_id") if isinstance(one, dict) else None  # what it emits
                    results.append(apply(self, db, session, one))
            return results
        if not is_envelope(envelope):
            raise ValueError("message is not an event envelope")
        with db.transaction() as session:
            return apply(self, db, session, envelope)

    return (BatchedEventStream if batch else EventStream).decorator(batch=batch, linger_ms=linger_ms)(on_event)
