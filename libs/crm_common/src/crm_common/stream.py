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

import logging
import traceback
from functools import partial

from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer

from crm_common import config, deadletters, inbox, topology
from crm_common.context import ACTOR_KEY, REQUEST_ID_KEY
from crm_common.envelope import is_envelope

log = logging.getLogger(__name__)
ATTEMPT_KEY = "crm_attempt"


class EventStream(Consumer):
    def __init__(self, **kwargs):
        super().__init__(queue=None, requeue_on_error=True, **kwargs)

    def setup(self):
        service = self.container.service_name
        self.queue = topology.consumer_queue(service)
        # the exchanges the queue binds to, and the delay queues, exist before the queue is consumed
        from crm_common.bus import connect
        with connect(self.container.config.get("AMQP_URI")) as conn:
            topology.ensure(conn, topology.consumer_declarations(service))
        super().setup()

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
        handle_result = partial(self.handle_result, message, body)
        try:
            self.container.spawn_worker(self, (body,), {}, context_data=context_data,
                                        handle_result=handle_result)
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

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
        else:
            envelope = body if isinstance(body, dict) else {"raw": str(body)}
            letter = deadletters.store(db.engine, db.metadata, self.queue.name, envelope, error, attempt)
            log.error("event %s dead-lettered as #%s after %d attempts: %s", event_type, letter, attempt, error)


def event_stream(table: dict, every=None):
    """The entrypoint applying each event of `table` once, in one transaction with the inbox. `every(ctx,
    envelope)`, when given, runs first for every event the queue takes (identity's audit trail, which
    subscribes to all: topology.ALL), in the same transaction."""

    def on_event(self, envelope):
        from crm_common.entrypoint import Context, dispatch
        if not is_envelope(envelope):
            raise ValueError("message is not an event envelope")
        db = self.db
        with db.transaction() as session:
            if not inbox.claim(session, db.metadata, envelope):
                return "duplicate"
            ctx = Context(session, db.caller, db.emit, envelope.get("request_id"), self, db)
            if every is not None:
                every(ctx, envelope)
            dispatch(ctx, envelope, table)
        return "applied"

    return EventStream.decorator(on_event)
