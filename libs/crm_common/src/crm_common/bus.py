"""Publishing to RabbitMQ with publisher confirms (kombu)."""
from __future__ import annotations

import json
import logging
import sys
import threading

from kombu import Connection, Exchange, Producer

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


class _Link:
    """One broker connection with its confirming producer, used by one publish at a time."""

    def __init__(self, uri: str):
        self.uri = uri
        self.conn: Connection | None = None
        self.producer: Producer | None = None

    def ensure(self) -> Producer:
        if self.producer is None:
            self.conn = connect(self.uri)
            self.conn.ensure_connection(max_retries=3, interval_start=0.2, interval_step=0.5)
            self.producer = Producer(self.conn.channel(), serializer="json")
        return self.producer

    def reset(self) -> None:
        try:
            if self.conn is not None:
                self.conn.release()
        except Exception:  # the connection is already broken; drop it
            log.debug("closing a broken connection failed", exc_info=True)
        self.conn = None
        self.producer = None


class Publisher:
    """Publishes envelopes durably; `publish` returns only once the broker confirmed the message.

    Every message carries `user_id`, the broker user of the connection: RabbitMQ refuses a message whose
    user_id is not the connection's user, so a consumer knows which user published an event.

    A confirm takes a round trip and the broker's write. Publishes therefore run side by side on up to
    `size` connections (CRM_PUBLISH_CONNECTIONS, 4), opened as concurrent publishes need them: on one
    connection, every other writer of the process would wait in line behind the one awaiting its
    confirm. Publishes from one caller in sequence keep their order (each returns confirmed before
    the next starts). A broken connection is replaced by itself; each publish tries three times.
    """

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

    def publish(self, envelope: dict, exchange: Exchange | str | None = None, routing_key: str | None = None,
                headers: dict | None = None) -> None:
        if exchange is None:
            exchange = events_exchange(envelope["producer"])
        routing_key = routing_key if routing_key is not None else envelope["type"]
        headers = dict(headers or {})
        if envelope.get("request_id"):
            headers.setdefault("nameko.request_id", envelope["request_id"])
        body = json.dumps(envelope, separators=(",", ":"))
        declare = [exchange] if isinstance(exchange, Exchange) else []
        last_error = None
        with self._slots:
            link = self._take()
            try:
                for _ in range(3):
                    try:
                        link.ensure().publish(body, exchange=exchange, routing_key=routing_key, headers=headers,
                                              delivery_mode=2, content_type="application/json",
                                              content_encoding="utf-8", declare=declare, retry=False,
                                              message_id=envelope.get("event_id"), user_id=self.user)
                        return
                    except Exception as exc:  # broken connection: reconnect and try again
                        last_error = exc
                        log.warning("publish failed (%s); reconnecting", type(exc).__name__)
                        link.reset()
            finally:
                self._give_back(link)
        raise ConnectionError(f"could not publish {envelope.get('type')}: {last_error}")

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
