"""RPC clients outside a nameko service: a thread-safe pool of connections, a timeout on every call.

Speaks nameko's RPC protocol directly with kombu (request to the `nameko-rpc` exchange with `reply_to`
and `correlation_id`, context in `nameko.*` headers, `{"result", "error"}` back), because nameko's
standalone proxy builds a connection object per publish and polls for replies. Each pooled member owns
one connection, one channel and one exclusive reply queue and serves one call at a time. Requests are
published `mandatory`, so a service with no consumer is known at once (the broker returns the request:
unavailable, not a timeout). They are not published with confirms: the reply is the acknowledgement, and
a request the broker loses ends as a timeout like one the service never answers, so a confirm round trip
on every call would protect nothing the caller does not already handle. A service that does not answer
within the timeout gives ServiceError("timeout"); a broker that is away gives
ServiceError("unavailable"). Broken members are dropped and replaced.

A member's socket keeps one timeout, the call timeout, set when it connects: amqp sets a read timeout and puts the
old one back around every frame it reads, and its publish first reads the socket without waiting (a timeout of
0, then the old one again) -- each change a system call that lets the GIL go, about eight a call, in a process
whose other threads then take it. A call waits with the timeout the socket has (the first wait) and reads what the
broker sent meanwhile before it publishes only when there is something (`bus.unread`).

Every call is signed for its target method with the bus key (see `callers`): as its actor, or as an
anonymous caller with no grants when there is none.
"""
from __future__ import annotations

import itertools
import logging
import queue
import socket
import time
import uuid

import amqp
import kombu.serialization
from amqp import spec
from amqp.exceptions import AMQPError
from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.exceptions import OperationalError
from nameko.exceptions import deserialize

from crm_common import amqpreads, bus, callers, config, tracing  # noqa: F401  (bus: kombu tuning on import)
from crm_common.context import Actor
from crm_common.errors import ServiceError

log = logging.getLogger(__name__)
amqpreads.install()  # every process that calls or serves RPCs reads its AMQP frames buffered
# amqp warns about frames that arrive while a proxy closes its channel; they are harmless here
logging.getLogger("amqp").setLevel(logging.ERROR)

RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True)
# a request's header: the caller takes the result as the JSON text the service writes (RawJson), which the
# service's reply then is, with the same header (crm_common.rpc); errors come as always
RAW_REPLY = "crm_raw_reply"
# a reply's header: its answer is the one the service kept for the call's Idempotency-Key (a repeat: nothing ran
# there; crm_common.entrypoint.run_once); the caller learns it through `RpcPool.call(..., on_replay=...)`
REPLAYED = "crm_replayed"


CONNECTION_ERRORS = (OSError, ConnectionError, AMQPError, OperationalError)


class _Broken(Exception):
    """The member's connection failed under the call; `sent`: after the request went out."""

    def __init__(self, sent: bool):
        super().__init__(sent)
        self.sent = sent


class _Timeout(Exception):
    """No reply within the timeout (the member may still receive it later)."""


class _Unrouted(Exception):
    """No queue is bound for the service: nothing consumes its RPCs."""


class RawJson(bytes):
    """A result as the JSON text (UTF-8) the service wrote, for a caller that passes it on unparsed
    (`RpcPool.call(..., raw_reply=True)`); errors still come as ServiceError."""


class _Member:
    def __init__(self, amqp_uri: str, timeout: float):
        self.timeout = timeout
        self.connection = Connection(amqp_uri, connect_timeout=5)
        self.connection.connect()
        self.channel = self.connection.channel()
        self.channel.events["basic_return"].add(self._on_return)
        # named for the broker user, whose permissions allow its own reply queues only (see brokerusers)
        self.reply_to = f"rpc.reply-{self.connection.userid}-{uuid.uuid4()}"
        reply_queue = Queue(self.reply_to, exchange=RPC_EXCHANGE, routing_key=self.reply_to,
                            exclusive=True, auto_delete=True)
        self.producer = Producer(self.channel, exchange=RPC_EXCHANGE, serializer="json")  # declares the exchange
        self.delivery_mode = self.producer._delivery_details(RPC_EXCHANGE)[1]
        self.consumer = Consumer(self.channel, queues=[reply_queue], on_message=self._on_reply, no_ack=True,
                                 accept=["json"])
        self.consumer.consume()
        self._amqp = self.connection.connection  # amqp's connection: its frames are read and written here
        self._amqp.transport.sock.settimeout(timeout)  # kept: see the module doc
        # correlation ids: this member's own random prefix and a number (a uuid4 each call read the system's random)
        self._ids = map(f"{uuid.uuid4().hex[:16]}-{{}}".format, itertools.count())
        self._expected: str | None = None
        self._reply: dict | None = None
        self._returned = False
        self.replayed = False  # the last reply was a kept answer (REPLAYED)

    def _on_reply(self, message):
        if message.properties.get("correlation_id") != self._expected:
            return
        self.replayed = bool((message.headers or {}).get(REPLAYED))
        if (message.headers or {}).get(RAW_REPLY) and message.content_type == "application/json":
            body = message.body  # the result's JSON text, as the service wrote it (amqp decoded its UTF-8)
            self._reply = {"result": RawJson(body.encode() if isinstance(body, str) else body)}
        else:
            self._reply = message.decode()

    def _on_return(self, exc, exchange, routing_key, message):
        """The broker gave a `mandatory` request back: no queue is bound for its routing key."""
        if message.properties.get("correlation_id") == self._expected:
            self._returned = True

    def call(self, service, method, args, kwargs, data, raw: bool = False):
        self._expected = next(self._ids)
        self._reply, self._returned, self.replayed = None, False, False
        headers = {f"nameko.{key}": value for key, value in data.items() if value is not None}
        if raw:
            headers[RAW_REPLY] = True
        headers["nameko.call_id_stack"] = [f"crm_rpc_client.{service}.{method}.{self._expected}"]
        # kombu's serializer (it tags datetimes and decimals for the service's kombu to restore), then amqp's
        # basic.publish directly: kombu's Producer.publish prepares and wraps the message again on every call
        content_type, encoding, body = kombu.serialization.dumps({"args": list(args), "kwargs": kwargs}, "json")
        message = amqp.Message(body.encode(encoding) if isinstance(body, str) else body, content_type=content_type,
                               content_encoding=encoding, application_headers=headers, priority=0,
                               delivery_mode=self.delivery_mode, reply_to=self.reply_to,
                               correlation_id=self._expected,
                               # a request no service took before the caller gave up (503) is dropped by the
                               # broker: a service started later must not carry out what was answered as failed
                               expiration=str(max(1, int(self.timeout * 1000))))
        try:
            self._publish(message, f"{service}.{method}")
        except CONNECTION_ERRORS as exc:
            raise _Broken(sent=False) from exc
        deadline = time.monotonic() + self.timeout
        wait = self.timeout  # the socket's own timeout: amqp leaves it as it is
        while self._reply is None:
            if self._returned:
                raise _Unrouted()
            if wait is None:  # a frame of another kind came first: the rest of the time
                wait = deadline - time.monotonic()
                if wait <= 0:
                    raise _Timeout()
            try:
                self._amqp.drain_events(timeout=wait)
            except socket.timeout:
                raise _Timeout() from None
            except CONNECTION_ERRORS as exc:
                raise _Broken(sent=True) from exc
            wait = None
        reply, self._expected = self._reply, None
        if reply.get("error"):
            raise deserialize(reply["error"])
        return reply.get("result")

    def _publish(self, message, routing_key: str) -> None:
        """amqp's basic.publish (`mandatory`) without its read of the socket before it: what the broker sent since
        the last call (a returned request, connection.blocked, a channel closed) is read first when there is any,
        so a closed channel is still known before the request goes out."""
        if bus.unread(self._amqp):
            try:
                self._amqp.drain_events(timeout=0)
            except socket.timeout:  # a frame cut short: the rest is read with the reply
                pass
        self.channel.send_method(spec.Basic.Publish, "Bssbb", (0, RPC_EXCHANGE.name, routing_key, True, False),
                                 message)

    def close(self):
        try:
            self.connection.release()
        except Exception:  # already broken; nothing left to release
            log.debug("closing an RPC connection failed", exc_info=True)


class RpcPool:
    def __init__(self, amqp_uri: str | None = None, timeout: float | None = None, size: int = 16,
                 key: bytes | None = None, key_file: str | None = None):
        """`key`: the bus key, or read from `key_file` (default CRM_BUS_KEY_FILE) at the first call."""
        self.amqp_uri = amqp_uri or config.amqp_uri()
        self._key, self._key_file = key, key_file
        self.timeout = timeout if timeout is not None else config.rpc_timeout()
        self._idle: queue.LifoQueue[_Member] = queue.LifoQueue()
        self._size = size

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = callers.load_key(self._key_file)
        return self._key

    def _take(self) -> _Member:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            try:
                return _Member(self.amqp_uri, self.timeout)
            except CONNECTION_ERRORS as exc:
                raise ServiceError("unavailable", "the message broker cannot be reached") from exc

    def _give_back(self, member: _Member) -> None:
        if self._idle.qsize() < self._size:
            self._idle.put(member)
        else:
            member.close()

    def call(self, service: str, method: str, *args, actor: Actor | None = None, request_id: str | None = None,
             raw_reply: bool = False, idempotent=None, on_replay=None, **kwargs):
        """The method's result; `raw_reply`: as RawJson, the JSON text the service wrote (not parsed here);
        `idempotent`: the request's Idempotency-Key and fingerprint (crm_common.idempotency), signed with the call;
        `on_replay()` is called when the result is the answer the service kept for that key (REPLAYED)."""
        data = callers.sign(self.key, f"{service}.{method}", actor, request_id, idempotent=idempotent)
        traceparent = tracing.current_traceparent()
        if traceparent:  # the caller's span, for the service's (not signed: it grants nothing)
            data[tracing.TRACEPARENT] = traceparent
        try:
            return self._call(service, method, args, kwargs, data, raw_reply, on_replay)
        except _Broken as exc:
            # the connection died (broker restarted, connections closed): the idle members went with it
            self.close()
            if exc.sent:  # the service may have acted on it: a repeat could do it twice
                raise ServiceError("unavailable", "the connection to the message broker was lost during the "
                                                  "call; its outcome is unknown") from exc
            try:  # nothing was sent: once more on a new connection
                return self._call(service, method, args, kwargs, data, raw_reply, on_replay)
            except _Broken as again:
                raise ServiceError("unavailable", "the message broker cannot be reached") from again

    def _call(self, service, method, args, kwargs, data, raw: bool = False, on_replay=None):
        member = self._take()
        try:
            result = member.call(service, method, args, kwargs, data, raw)
        except ServiceError:
            self._give_back(member)
            raise
        except _Timeout as exc:
            member.close()  # a late reply must not reach the next caller
            raise ServiceError("timeout", f"the {service} service did not answer in time") from exc
        except _Unrouted as exc:
            self._give_back(member)
            raise ServiceError("unavailable", f"the {service} service is not running") from exc
        except _Broken:
            member.close()
            raise
        except Exception:
            member.close()
            raise
        replayed = member.replayed
        self._give_back(member)
        if replayed and on_replay is not None:
            on_replay()
        return result

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


def call_once(service: str, method: str, *args, timeout: float | None = None, **kwargs):
    pool = RpcPool(timeout=timeout, size=1)
    try:
        return pool.call(service, method, *args, **kwargs)
    finally:
        pool.close()
