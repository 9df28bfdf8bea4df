"""Publishing to RabbitMQ with publisher confirms (kombu)."""
from __future__ import annotations

import functools
import logging
import socket
import struct
import sys
import threading
import time

from amqp.exceptions import MessageNacked
from eventlet.patcher import original
from kombu import Connection, Exchange

from crm_common import amqpframes, config, jsontext

# kombu probes for the optional librabbitmq C client on every Connection(); nameko makes one per
# publish (every RPC request and reply). A failed import is not cached, so each probe searches
# sys.path again. We never use librabbitmq: record it as absent once.
sys.modules.setdefault("librabbitmq", None)

log = logging.getLogger(__name__)

RETRY_POLICY = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2}
_METHOD_FRAME = 1
_BASIC_ACK = struct.pack(">HH", 60, 80)  # basic.ack's class and method ids: a method frame's payload starts so
_ACK_ARGUMENTS = struct.Struct(">QB")  # its delivery tag, then its bits (`multiple` the lowest)
_ACK_FRAME_SIZE = 7 + 4 + 9 + 1  # header, class and method ids, arguments, frame end
_FRAME_END = 0xCE
_select = original("select")  # the system's poll, also under eventlet (whose green select has none)


@functools.lru_cache(maxsize=None)
def _ack_head(channel_id: int) -> bytes:
    """The first bytes of a basic.ack frame on a channel: a method frame of 13 bytes, basic.ack's ids."""
    return struct.pack(">BHI", _METHOD_FRAME, channel_id, _ACK_FRAME_SIZE - 8) + _BASIC_ACK


def unread(connection) -> bool:
    """Whether the broker sent something this connection has not read: frames read ahead (crm_common.amqpreads),
    bytes a TLS socket decrypted, or bytes waiting on the socket (a poll that does not wait)."""
    transport = connection.transport
    if getattr(transport, "_read_buffer", None):
        return True
    sock = transport.sock
    pending = getattr(sock, "pending", None)
    if pending is not None and pending():
        return True
    poll = _select.poll()
    poll.register(sock.fileno(), _select.POLLIN)
    return bool(poll.poll(0))


@functools.lru_cache(maxsize=None)
def events_exchange(producer: str) -> Exchange:
    """Events of one producer go to a durable topic exchange named like nameko's: `<producer>.events` (one
    object per producer: declaring binds a copy)."""
    return Exchange(f"{producer}.events", type="topic", durable=True)


def connect(uri: str | None = None) -> Connection:
    return Connection(uri or config.amqp_uri(), transport_options={"confirm_publish": True},
                      connect_timeout=5)


class _Link:
    """One broker connection with a confirming channel, used by one publish at a time. A publish's messages
    go to the socket as basic.publish frames in one write (`crm_common.amqpframes`: kombu's Producer prepares,
    declares and wraps every message again, and amqp writes each with a system call of its own), so the link
    numbers its messages itself: the broker confirms them by that number (delivery tag)."""

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
            # confirms are taken by listeners: pending frames are read before a publish too (to notice a
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
        """Publish `(exchange, routing_key, body, properties)` in order, in one write, then wait until the broker
        confirmed them all: one wait for the lot instead of a round trip each. A nack raises MessageNacked."""
        channel = self.ensure()
        for exchange, *_ in messages:
            if isinstance(exchange, Exchange) and exchange.name not in self.declared:
                exchange(channel).declare()
                self.declared.add(exchange.name)
        self.refused = []
        connection = self.conn.connection
        if unread(connection):  # a frame the broker sent meanwhile (a confirm, connection.blocked), as amqp reads
            try:  # before a publish (a drain that finds nothing costs a timeout raised through the green socket)
                connection.drain_events(timeout=0)
            except socket.timeout:
                pass
        frames: list[bytes] = []
        for exchange, routing_key, body, props in messages:
            frames += amqpframes.publish(channel.channel_id, connection.frame_max,
                                         getattr(exchange, "name", exchange), routing_key, body, props)
        first = self.sent + 1
        self.sent += len(messages)
        self.waiting.update(range(first, self.sent + 1))
        connection.transport.write(b"".join(frames))
        self._confirms(connection, time.monotonic() + timeout)
        if self.refused:
            raise MessageNacked(f"the broker refused message(s) {self.refused}")

    def _confirms(self, connection, deadline: float) -> None:
        """Read frames until every message sent is confirmed. The broker confirms each message with a frame of its
        own (basic.ack, `multiple` seldom set): one of this channel is taken here from the frame read (what amqp
        would do with it through a dispatch of several calls: `_acked`); any other frame (a nack, a blocked
        connection, a close, a heartbeat) goes through amqp's own handling, as a drain of the connection would. The
        frames already read ahead (crm_common.amqpreads) are taken under the same socket timeout."""
        transport, channel_id = connection.transport, self.channel.channel_id
        while self.waiting:
            if self._buffered_acks(connection, channel_id) and not self.waiting:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the broker did not confirm the messages in time")
            with transport.having_timeout(remaining):
                while True:
                    frame_type, channel, payload = frame = transport.read_frame()
                    if frame_type == _METHOD_FRAME and channel == channel_id and payload[:4] == _BASIC_ACK:
                        connection.bytes_recv += 1  # counted as amqp's frame handler would (heartbeat_tick reads it)
                        delivery_tag, bits = _ACK_ARGUMENTS.unpack_from(payload, 4)
                        self._acked(delivery_tag, bits & 1)
                        self._buffered_acks(connection, channel_id)
                    else:
                        connection.on_inbound_frame(frame)
                    if not self.waiting or len(getattr(transport, "_read_buffer", b"")) < _ACK_FRAME_SIZE:
                        break

    def _buffered_acks(self, connection, channel_id: int) -> int:
        """Take the basic.ack frames of this channel at the head of what the connection has read ahead
        (crm_common.amqpreads: one read holds the confirms of many messages), in one pass over the bytes: amqp's
        `read_frame` reads a frame in three pieces, each a copy of the rest of the buffer. Stops at the first
        other frame, or a frame not read whole, which `read_frame` then reads. How many it took."""
        transport = connection.transport
        buffer = getattr(transport, "_read_buffer", None)
        if buffer.__class__ is not bytes or len(buffer) < _ACK_FRAME_SIZE:
            return 0
        head, at, end = _ack_head(channel_id), 0, len(buffer) - _ACK_FRAME_SIZE
        while at <= end and buffer.startswith(head, at) and buffer[at + _ACK_FRAME_SIZE - 1] == _FRAME_END:
            delivery_tag, bits = _ACK_ARGUMENTS.unpack_from(buffer, at + len(head))
            self._acked(delivery_tag, bits & 1)
            at += _ACK_FRAME_SIZE
        if at:
            transport._read_buffer = buffer[at:]
            connection.bytes_recv += at // _ACK_FRAME_SIZE  # counted as amqp's frame handler would
        return at // _ACK_FRAME_SIZE

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
        request_id = envelope.get("request_id")
        if headers or request_id:
            headers = dict(headers or ())
            if request_id:
                headers.setdefault("nameko.request_id", request_id)
        text = getattr(envelope, "text", None)  # as its outbox row holds it (outbox.Recorded), else dumped here
        body = (text if text is not None else jsontext.text(envelope)).encode()
        return (exchange, routing_key if routing_key is not None else envelope["type"], body,
                amqpframes.properties(headers, envelope.get("event_id"), self.user))

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
