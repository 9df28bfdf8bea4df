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
# sys.path again (~60 us). We never use librabbitmq: record it as absent once.
sys.modules.setdefault("librabbitmq", None)

log = logging.getLogger(__name__)

RETRY_POLICY = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2}


def events_exchange(producer: str) -> Exchange:
    """Events of one producer go to a durable topic exchange named like nameko's: `<producer>.events`."""
    return Exchange(f"{producer}.events", type="topic", durable=True)


def connect(uri: str | None = None) -> Connection:
    return Connection(uri or config.amqp_uri(), transport_options={"confirm_publish": True},
                      connect_timeout=5)


class Publisher:
    """Publishes envelopes durably; `publish` returns only once the broker confirmed the message.

    One connection per publisher guarded by a lock (publishes are short); it reconnects by itself.
    """

    def __init__(self, uri: str | None = None):
        self.uri = uri or config.amqp_uri()
        self._lock = threading.RLock()
        self._conn: Connection | None = None
        self._producer: Producer | None = None

    def _ensure(self) -> Producer:
        if self._producer is None:
            self._conn = connect(self.uri)
            self._conn.ensure_connection(max_retries=3, interval_start=0.2, interval_step=0.5)
            self._producer = Producer(self._conn.channel(), serializer="json")
        return self._producer

    def _reset(self) -> None:
        try:
            if self._conn is not None:
                self._conn.release()
        except Exception:  # the connection is already broken; drop it
            log.debug("closing a broken connection failed", exc_info=True)
        self._conn = None
        self._producer = None

    def publish(self, envelope: dict, exchange: Exchange | str | None = None, routing_key: str | None = None,
                headers: dict | None = None) -> None:
        if exchange is None:
            exchange = events_exchange(envelope["producer"])
        routing_key = routing_key if routing_key is not None else envelope["type"]
        headers = dict(headers or {})
        if envelope.get("request_id"):
            headers.setdefault("nameko.request_id", envelope["request_id"])
        body = json.dumps(envelope, separators=(",", ":"))
        last_error = None
        with self._lock:
            for _ in range(3):
                try:
                    producer = self._ensure()
                    declare = [exchange] if isinstance(exchange, Exchange) else []
                    producer.publish(body, exchange=exchange, routing_key=routing_key, headers=headers,
                                     delivery_mode=2, content_type="application/json",
                                     content_encoding="utf-8", declare=declare, retry=False,
                                     message_id=envelope.get("event_id"))
                    return
                except Exception as exc:  # broken connection: reconnect and try again
                    last_error = exc
                    log.warning("publish failed (%s); reconnecting", type(exc).__name__)
                    self._reset()
        raise ConnectionError(f"could not publish {envelope.get('type')}: {last_error}")

    def publish_to_queue(self, queue: str, envelope: dict, headers: dict | None = None) -> None:
        """Publish straight to a queue through the default exchange (retries, replays)."""
        self.publish(envelope, exchange="", routing_key=queue, headers=headers)

    def close(self) -> None:
        with self._lock:
            self._reset()
