"""Publishing to RabbitMQ with publisher confirms (kombu)."""
from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
import time

import amqp
from amqp.exceptions import MessageNacked
from kombu import Connection, Exchange

from crm_common import config

# kombu probes for the optional librabbitmq C client on every Connection(); nameko makes one per
# publish (every RPC request and reply). A failed import is not cached, so each probe searches
# sys.path again. We never use librabbitmq: record it as absent once.
sys.modules.setdefault("librabbitmq", None)

log = logging.getLogger(__name__)

RETRY_POLICY = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2}


def events_exchange(producer: str) -> Exchange:
    """Events of one producer go to a durable topic exchange named like nameko's: `<producer>.events`."""
    return Exchange(f"{producer}.events", type="topic", durable=True)


def connect(uri: str | None = None) -> Connection:
    return Connection(uri or config.amqp_uri(), transport_options={"confirm_publish": True},
                      connect_timeout=5)


@contextlib.contextmanager
def _coalesced(transport):
    """The frames amqp writes inside the block go to the socket in one write when it ends without an error (amqp
    writes each message with a write of its own: a system call per message, most of what publishing a
    transaction's events cost). Without an error nothing is lost or reordered: the same bytes, in order; after
    one, nothing of the block is written and the link is reset (the caller publishes them all again)."""
    if transport is None or not hasattr(transport, "_write"):
        yield
        return
    own = transport.__dict__.get("_write")  # TCP: the socket's sendall, set on the instance
    chunks: list[bytes] = []
    transport._write = lambda data: chunks.append(bytes(data))  # amqp reuses its buffer: copied
    try:
        yield
    finally:
        if own is not None:
            transport._write = own
        else:
            del transport._write
    if chunks:
        transport.write(b"".join(chunks))


class _Link:
    """One broker connection with a confirming channel, used by one publish at a time. Messages go out
    with amqp's basic.publish directly (kombu's Producer prepares, declares and wraps every message again),
    so the link numbers its messages itself: the broker confirms them by that number (delivery tag)."""

    def __init__(self, uri: str):
        self.uri = uri
        self.conn: Connection | None = None
        self.channel = None
        self.sent = 0  # messages published on the channel: the delivery tag of the last one
        self.declared: set[str] = set()
        self.waiting: set[int] = set()  # delivery tags not confirmed yet
        self.refused: list[int] = []

    def ensure(self):
        if self.channel is None:
            self.conn = connect(self.uri)
            self.conn.ensure_connection(max_retries=3, interval_start=0.2, interval_step=0.5)
            channel = self.conn.channel()
            channel.confirm_select()
            channel._confirm_selected = True
            # confirms are taken by listeners: amqp reads pending frames during a publish too (to notice a
            # blocked connection), and a confirm read there never reaches a wait()
            channel.events["basic_ack"].add(self._acked)
            channel.events["basic_nack"].add(self._nacked)
            self.channel, self.sent, self.declared = channel, 0, set()
            self.waiting, self.refused = set(), []
        return self.channel

    def _acked(self, delivery_tag, multiple):
        if multiple:
            self.waiting.difference_update([tag for tag in self.waiting if tag <= delivery_tag])
        else:
            self.waiting.discard(delivery_tag)

    def _nacked(self, delivery_tag, multiple):
        self.refused.append(delivery_tag)
        self._acked(delivery_tag, multiple)

    def send(self, messages: list[tuple], timeout: float) -> None:
        """Publish `(exchange, routing_key, message)` in order, then wait until the broker confirmed them all:
        one wait for the lot instead of a round trip each. A nack raises MessageNacked."""
        channel = self.ensure()
        for exchange, _key, _message in messages:
            if isinstance(exchange, Exchange) and exchange.name not in self.declared:
                exchange(channel).declare()
                self.declared.add(exchange.name)
        self.refused = []
        with _coalesced(getattr(self.conn.connection, "transport", None)):
            for exchange, routing_key, message in messages:
                self.sent += 1
                self.waiting.add(self.sent)
                channel._basic_publish(message, exchange=getattr(exchange, "name", exchange), routing_key=routing_key)
        deadline = time.monotonic() + timeout
        while self.waiting:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the broker did not confirm the messages in time")
            self.conn.drain_events(timeout=remaining)
        if self.refused:
            raise MessageNacked(f"the broker refused message(s) {self.refused}")

    def reset(self) -> None:
        try:
            if self.conn is not None:
                self.conn.release()
        except Exception:  # the connection is already broken; drop it
            log.debug("closing a broken connection failed", exc_info=True)
        self.conn = None
        self.channel = None


class Publisher:
    """Publishes envelopes durably; `publish` returns only once the broker confirmed the message, and
    `publish_all` once it confirmed every one of a list (published in order on one connection, confirmed
    together: what a transaction emitted waits for one confirm, not one per event).

    Every message carries `user_id`, the broker user of the connection: RabbitMQ refuses a message whose
    user_id is not the connection's user, so a consumer knows which user published an event.

    A confirm takes a round trip and the broker's write. Publishes therefore run side by side on up to
    `size` connections (CRM_PUBLISH_CONNECTIONS, 4), opened as concurrent publishes need them: on one
    connection, every other writer of the process would wait in line behind the one awaiting its
    confirm. Publishes from one caller in sequence keep their order (each returns confirmed before
    the next starts). A broken connection is replaced by itself; each publish tries three times.
    """

    confirm_timeout = 30.0

    def __init__(self, uri: str | None = None, size: int | None = None):
        self.uri = uri or config.amqp_uri()
        self.user = config.uri_user(self.uri)  # every message names it; the broker refuses any other
        self.size = max(1, size or config.env_int("CRM_PUBLISH_CONNECTIONS", 4))
        self._slots = threading.BoundedSemaphore(self.size)
        self._lock = threading.Lock()
        self._idle: list[_Link] = []
        self._links: list[_Link] = []

    def _take(self) -> _Link:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            link = _Link(self.uri)
            self._links.append(link)
            return link

    def _give_back(self, link: _Link) -> None:
        with self._lock:
            self._idle.append(link)

    def _message(self, envelope: dict, exchange, routing_key: str | None, headers: dict | None) -> tuple:
        if exchange is None:
            exchange = events_exchange(envelope["producer"])
        headers = dict(headers or {})
        if envelope.get("request_id"):
            headers.setdefault("nameko.request_id", envelope["request_id"])
        body = json.dumps(envelope, separators=(",", ":")).encode()
        message = amqp.Message(body, content_type="application/json", content_encoding="utf-8",
                               application_headers=headers, delivery_mode=2, message_id=envelope.get("event_id"),
                               user_id=self.user)
        return exchange, routing_key if routing_key is not None else envelope["type"], message

    def publish(self, envelope: dict, exchange: Exchange | str | None = None, routing_key: str | None = None,
                headers: dict | None = None) -> None:
        self._send([self._message(envelope, exchange, routing_key, headers)], envelope.get("type"))

    def publish_all(self, envelopes: list[dict]) -> None:
        """Publish events to their producers' exchanges, in order, confirmed together (all or an error:
        after an error, any of them may have gone out; a consumer's inbox makes a repeat harmless)."""
        if envelopes:
            self._send([self._message(e, None, None, None) for e in envelopes], envelopes[0].get("type"))

    def _send(self, messages: list[tuple], what) -> None:
        last_error = None
        with self._slots:
            link = self._take()
            try:
                for _ in range(3):
                    try:
                        link.send(messages, self.confirm_timeout)
                        return
                    except MessageNacked:
                        raise
                    except Exception as exc:  # broken connection: reconnect and try again
                        last_error = exc
                        log.warning("publish failed (%s); reconnecting", type(exc).__name__)
                        link.reset()
            finally:
                self._give_back(link)
        raise ConnectionError(f"could not publish {what}: {last_error}")

    def publish_to_queue(self, queue: str, envelope: dict, headers: dict | None = None,
                         exchange: Exchange | str = "") -> None:
        """Publish to one queue through a direct exchange bound with the queue's name as its key (retries
        and replays go through the consumer's own, topology.retry_exchange)."""
        self.publish(envelope, exchange=exchange, routing_key=queue, headers=headers)

    def close(self) -> None:
        with self._lock:
            links, self._links, self._idle = self._links, [], []
        for link in links:
            link.reset()
