"""The signed RPC entrypoint (`rpc`) and the load and dump of a contract's input and output (crm_common.entrypoint builds on them)."""
from __future__ import annotations

import functools
import inspect
import logging
import sys
import uuid
from datetime import date, datetime, time
from decimal import Decimal

import kombu.exceptions
import kombu.serialization

from kombu import Connection
from kombu.pools import producers
from marshmallow import ValidationError
from nameko.amqp.publish import Publisher
from nameko.exceptions import IncorrectSignature, UnserializableValueError, serialize
from nameko.rpc import Responder, Rpc, RpcConsumer

from crm_common import acks, bus, callers, dumping, jsontext  # noqa: F401 - acks: nameko's acks on a dropped socket; bus: kombu tuning
from crm_common.contracts.registry import RpcContract
from crm_common.errors import ServiceError, validation
from crm_common.rpcclient import RAW_REPLY, REPLAYED

# the request message's mark that the worker answered it with a kept answer (SignedRpc.handle_result)
_REPLAYED_MARK = "crm_replayed"


class ReplyPublisher(Publisher):
    """RPC replies are published without broker confirms. A confirm costs a round trip on every
    reply and protects nothing a caller does not already handle: a reply that never arrives (the
    connection dropped) is a timeout either way, and the caller's reply queue lives only as long as
    the caller's connection. Events keep their confirms; the gateway's RPC client (rpcclient) publishes
    its requests without them for the same reason."""

    use_confirms = False
    _pool_keys: dict = {}  # (uri, ssl, login method) -> the Connection that finds kombu's producer pool

    def publish(self, payload, **kwargs):
        """nameko's Publisher.publish for a reply, less its per-call waste: nameko builds a new kombu
        Connection (parsing the URI) on every publish only to look up the shared producer pool; the
        pool is found here with one Connection made once. Same options: serializer, retry policy."""
        key = (self.amqp_uri, repr(self.ssl), self.login_method)
        template = self._pool_keys.get(key)
        if template is None:
            options = {**self.transport_options, "confirm_publish": False}
            template = self._pool_keys.setdefault(key, Connection(self.amqp_uri, transport_options=options,
                                                                  ssl=self.ssl, login_method=self.login_method))
        headers = {**self.publish_kwargs.get("headers", {}), **kwargs.pop("headers", {})}
        with producers[template].acquire(block=True) as producer:
            producer.publish(payload, headers=headers, delivery_mode=self.delivery_mode, mandatory=False,
                             priority=self.priority, expiration=self.expiration, compression=self.compression,
                             declare=list(self.declare), retry=self.retry, retry_policy=self.retry_policy,
                             serializer=kwargs.pop("serializer", self.serializer), **kwargs)


def send_response_once(self, result, exc_info):
    """nameko's Responder.send_response, serializing the reply once: nameko serializes every result to
    check that it can (a "disaster avoidance" dump it throws away), then again to publish it -- for a
    page of 50 leads about a tenth of the service's CPU. Here the checked body is the one published;
    a result that cannot be serialized is answered with the same UnserializableValueError as nameko's."""
    error = serialize(exc_info[1]) if exc_info is not None else None
    serializer = kombu.serialization.registry.type_to_name[self.message.properties["content_type"]]
    headers, raw = {}, error is None and (getattr(self.message, "headers", None) or {}).get(RAW_REPLY)
    try:
        if raw:
            # a caller that writes the answer out as it comes (the gateway's lists) gets the result's JSON
            # text alone, encoded as the gateway would encode it, and neither side parses it again
            content_type, encoding, headers = "application/json", "utf-8", {RAW_REPLY: True}
            body = jsontext.utf8(result, _as_text)
        else:
            content_type, encoding, body = kombu.serialization.dumps({"result": result, "error": error}, serializer)
    except Exception:
        exc_info, headers = sys.exc_info(), {}
        error, result = serialize(UnserializableValueError(result)), None
        content_type, encoding, body = kombu.serialization.dumps({"result": None, "error": error}, serializer)
    if error is None and getattr(self.message, _REPLAYED_MARK, False):
        headers = {**headers, REPLAYED: True}  # the answer kept for the call's Idempotency-Key: nothing ran
    publisher = self.publisher_cls(self.amqp_uri, ssl=self.ssl, login_method=self.login_method)
    try:
        publisher.publish(body, content_type=content_type, content_encoding=encoding, exchange=self.exchange,
                          routing_key=self.message.properties["reply_to"],
                          correlation_id=self.message.properties.get("correlation_id"), headers=headers)
    except (kombu.exceptions.OperationalError, ConnectionError, OSError) as exc:
        # the broker is away (a restart, a network cut): the caller times out and answers 503, the work is
        # committed (an idempotent repeat finds it); raising here would stop the whole service (nameko kills
        # the container on an error outside a worker's method)
        log.warning("the reply could not be sent (%s); its caller times out", type(exc).__name__)
    return result, exc_info


def _as_text(value):
    """What the gateway writes for a value kombu carries but JSON has no type for (its text); anything else
    cannot be serialized, as with kombu."""
    if isinstance(value, (datetime, date, time, Decimal, uuid.UUID)):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


Responder.publisher_cls = ReplyPublisher  # every RPC entrypoint of a service shares one consumer
Responder.send_response = send_response_once
log = logging.getLogger(__name__)
_scan_for_method = RpcConsumer.get_provider_for_method


def provider_for_method(self, routing_key):
    """nameko's RpcConsumer.get_provider_for_method through a table by routing key: nameko formats and compares
    `service.method` for every entrypoint of the service, in no particular order, on every call (a service with
    a hundred and more RPCs). The table is made again when the entrypoints registered change in number; a key not
    in it, or whose entrypoint has since gone, is nameko's scan (a MethodNotFound for an unknown method)."""
    providers = self._providers
    table = self.__dict__.get("_crm_by_key")
    if table is None or table[0] != len(providers):
        service = self.container.service_name
        table = self._crm_by_key = (len(providers), {f"{service}.{p.method_name}": p for p in providers})
    provider = table[1].get(routing_key)
    if provider is None or provider not in providers:
        return _scan_for_method(self, routing_key)
    return provider


RpcConsumer.get_provider_for_method = provider_for_method


class SignedRpc(Rpc):
    """nameko's RPC entrypoint that runs a call only for a caller signed for it (see `callers`).

    The signature is checked before a worker is spawned: a refused call runs nothing and changes
    nothing; its caller gets ServiceError("unauthenticated") back."""

    key: bytes | None = None

    def setup(self):
        super().setup()
        self.key = _bus_key(str(callers.key_file()))
        self.target = f"{self.container.service_name}.{self.method_name}"

    def handle_message(self, body, message):
        data = self.unpack_message_headers(message)
        try:
            callers.verify(self.key, self.target, data)
        except ServiceError as exc:
            log.warning("refused a call to %s: %s", self.target, exc.detail)
            raise
        super().handle_message(body, message)

    def handle_result(self, message, worker_ctx, result, exc_info):
        """The reply, which says so when the worker answered with the answer kept for the call's
        Idempotency-Key (its unit of work `replayed`, crm_common.entrypoint.run_once): the REPLAYED header."""
        unit_of_work = getattr(worker_ctx, "crm_unit_of_work", None)
        if exc_info is None and unit_of_work is not None and unit_of_work.replayed:
            setattr(message, _REPLAYED_MARK, True)
        return super().handle_result(message, worker_ctx, result, exc_info)

    def check_signature(self, args, kwargs):
        """nameko's check that the call's arguments fit the method, with the method's signature worked out once
        (nameko's `inspect.getcallargs` works it out again on every call)."""
        signature = self.__dict__.get("_signature")
        if signature is None:
            signature = self._signature = inspect.signature(getattr(self.container.service_cls, self.method_name))
        try:
            signature.bind(None, *args, **kwargs)
        except TypeError as exc:
            raise IncorrectSignature(str(exc)) from None


@functools.lru_cache(maxsize=None)
def _bus_key(path: str) -> bytes:
    return callers.load_key(path)


rpc = SignedRpc.decorator


@functools.lru_cache(maxsize=None)
def _schema(schema_class, many: bool = False):
    """One instance per schema class (and `many`): schemas hold no per-call state, building them does."""
    return schema_class(many=many)


def load_input(contract: RpcContract, payload):
    if contract.input is None:
        return payload
    try:
        return _schema(contract.input).load(payload if payload is not None else {})
    except ValidationError as exc:
        errors = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise validation(errors) from None


def dump_output(contract: RpcContract, result):
    if contract.output is None or result is None:
        return result
    return dumping.dump(_schema(contract.output, contract.many), result)
