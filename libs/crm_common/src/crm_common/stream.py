"""An entrypoint that consumes every event a service subscribes to, with retries and dead letters.

    class Service(KernelService):
        @event_stream
        def on_event(self, envelope, session):
            handlers.dispatch(session, envelope)

The handler runs in one transaction with the inbox mark, so a redelivered event has one effect.
A handler that raises is retried after each delay in CRM_RETRY_DELAYS (delay queues that dead-letter
back to the service queue); after the last, the event goes to the dead-letter store and the queue
keeps flowing.
"""
from __future__ import annotations

import functools
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


def event_stream(fn):
    """Decorate `fn(self, envelope, session)`; it runs once per event, in one transaction with the inbox."""

    @functools.wraps(fn)
    def wrapper(self, envelope):
        if not is_envelope(envelope):
            raise ValueError("message is not an event envelope")
        db = self.db
        with db.transaction() as session:
            if not inbox.claim(session, db.metadata, envelope):
                return "duplicate"
            fn(self, envelope, session)
        return "applied"

    return EventStream.decorator(wrapper)
