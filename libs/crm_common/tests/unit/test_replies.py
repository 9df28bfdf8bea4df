"""A service's RPC reply is serialized once, and a result that cannot be is answered as nameko answers it."""
from __future__ import annotations

import json
from types import SimpleNamespace

from nameko.rpc import Responder

import crm_common.rpc  # noqa: F401 - installs the kernel's reply path
from crm_common.rpc import SignedRpc
from crm_common.rpcclient import RAW_REPLY, REPLAYED


class Capture:
    sent: list = []

    def __init__(self, *args, **kwargs):
        pass

    def publish(self, body, **kwargs):
        Capture.sent.append((body, kwargs))


def responder(headers=None):
    message = SimpleNamespace(properties={"content_type": "application/json", "reply_to": "rpc.reply-x",
                                          "correlation_id": "c-1"}, headers=headers or {})
    r = Responder("amqp://guest:guest@127.0.0.1:1/", "nameko-rpc", "json", message)
    r.publisher_cls = Capture
    return r


def test_a_result_is_serialized_once_and_published_as_is():
    Capture.sent.clear()
    result, exc_info = responder().send_response({"items": [1, 2], "next_cursor": None}, None)
    body, options = Capture.sent[0]
    assert json.loads(body) == {"result": {"items": [1, 2], "next_cursor": None}, "error": None}
    assert options["content_type"] == "application/json" and options["routing_key"] == "rpc.reply-x"
    assert options["correlation_id"] == "c-1" and result == {"items": [1, 2], "next_cursor": None}
    assert exc_info is None


def test_a_result_that_cannot_be_serialized_is_answered_with_an_error():
    Capture.sent.clear()
    result, exc_info = responder().send_response({"bad": {1, 2}}, None)
    body, _ = Capture.sent[0]
    reply = json.loads(body)
    assert result is None and exc_info is not None
    assert reply["result"] is None and reply["error"]["exc_type"] == "UnserializableValueError"


def test_an_error_is_answered_serialized():
    Capture.sent.clear()
    try:
        raise ValueError("no")
    except ValueError:
        import sys
        responder().send_response(None, sys.exc_info())
    reply = json.loads(Capture.sent[0][0])
    assert reply["result"] is None and reply["error"]["exc_type"] == "ValueError"


def test_a_caller_that_asks_for_it_gets_the_results_json_text_alone():
    Capture.sent.clear()
    page = {"items": [{"name": "Müller", "at": "2026-11-23T08:00:00.000000Z"}], "next_cursor": None}
    result, _ = responder({RAW_REPLY: True}).send_response(page, None)
    body, options = Capture.sent[0]
    assert body == json.dumps(page, ensure_ascii=False, separators=(",", ":")).encode()  # as the gateway wrote it
    assert options["headers"] == {RAW_REPLY: True} and options["content_type"] == "application/json"
    assert result == page


def test_an_error_to_a_caller_that_asked_for_the_raw_result_comes_as_always():
    Capture.sent.clear()
    try:
        raise ValueError("no")
    except ValueError:
        import sys
        responder({RAW_REPLY: True}).send_response(None, sys.exc_info())
    body, options = Capture.sent[0]
    assert json.loads(body)["error"]["exc_type"] == "ValueError" and not options["headers"]
    Capture.sent.clear()
    responder({RAW_REPLY: True}).send_response({"bad": {1, 2}}, None)
    body, options = Capture.sent[0]
    assert json.loads(body)["error"]["exc_type"] == "UnserializableValueError" and not options["headers"]


class BrokerAway:
    def __init__(self, *args, **kwargs):
        pass

    def publish(self, body, **kwargs):
        import kombu.exceptions
        raise kombu.exceptions.OperationalError("[Errno 111] ECONNREFUSED")


def test_a_reply_the_broker_cannot_take_is_dropped_and_the_service_keeps_running(caplog):
    """A reply published while the broker restarts: the caller times out (503); raising out of the reply
    stopped the whole service (nameko kills its container on an error outside a worker's method)."""
    r = responder()
    r.publisher_cls = BrokerAway
    result, exc_info = r.send_response({"id": "lead-1"}, None)
    assert result == {"id": "lead-1"} and exc_info is None
    assert "the reply could not be sent (OperationalError)" in caplog.text


def test_an_ack_on_a_socket_the_broker_closed_is_left_to_the_broker(caplog):
    """nameko ignores amqp's ConnectionError only: a reset socket raised out of the result handling and
    stopped the service (the broker gives the unacknowledged message back; the inbox skips it)."""
    from nameko.messaging import QueueConsumer

    class Reset:
        channel = SimpleNamespace(connection=object())

        def ack(self):
            raise ConnectionResetError(104, "Connection reset by peer")

        requeue = ack

    QueueConsumer.ack_message(None, Reset())
    QueueConsumer.requeue_message(None, Reset())
    assert "could not acknowledge a message (ConnectionResetError)" in caplog.text
    assert "could not requeue a message (ConnectionResetError)" in caplog.text


class Consumer:
    """Stands in for nameko's RPC consumer: publishes through the Responder with the Capture publisher."""

    def handle_result(self, message, result, exc_info):
        r = responder()
        r.message = message
        return r.send_response(result, exc_info)


def signed_reply(replayed, result=None, exc_info=None, raw=False):
    """The reply's headers when a worker whose unit of work is (or is not) marked a replay answers."""
    Capture.sent.clear()
    entrypoint = SignedRpc.__new__(SignedRpc)
    entrypoint.rpc_consumer = Consumer()
    message = SimpleNamespace(properties={"content_type": "application/json", "reply_to": "rpc.reply-x",
                                          "correlation_id": "c-1"}, headers={RAW_REPLY: True} if raw else {})
    worker_ctx = SimpleNamespace(crm_unit_of_work=SimpleNamespace(replayed=replayed))
    entrypoint.handle_result(message, worker_ctx, result if result is not None else {"id": "a-1"}, exc_info)
    return Capture.sent[0][1]["headers"]


def test_a_reply_with_the_answer_kept_for_its_key_says_it_is_a_replay():
    assert signed_reply(replayed=True) == {REPLAYED: True}
    assert signed_reply(replayed=True, raw=True) == {RAW_REPLY: True, REPLAYED: True}
    assert signed_reply(replayed=False) == {}  # a first call: it ran
    assert signed_reply(replayed=True, result={"bad": {1, 2}}) == {}  # answered with an error: no replay


def test_a_call_finds_its_entrypoint_by_routing_key_and_an_unknown_method_is_not_found():
    """nameko's RpcConsumer looks the entrypoint up through a table (crm_common.rpc.provider_for_method), kept
    right as entrypoints come and go."""
    import pytest
    from nameko.exceptions import MethodNotFound
    from nameko.rpc import RpcConsumer

    class Entrypoint:  # hashable, as nameko's are
        def __init__(self, method_name):
            self.method_name = method_name

    consumer = RpcConsumer.__new__(RpcConsumer)
    consumer.container = SimpleNamespace(service_name="sales")
    entrypoints = [Entrypoint(f"method_{n}") for n in range(150)]
    consumer._providers = set(entrypoints)
    assert all(consumer.get_provider_for_method(f"sales.method_{n}") is entrypoints[n] for n in range(150))
    with pytest.raises(MethodNotFound):
        consumer.get_provider_for_method("sales.no_such_method")
    with pytest.raises(MethodNotFound):
        consumer.get_provider_for_method("identity.method_1")  # another service's routing key
    consumer._providers.discard(entrypoints[7])  # gone (the service stopping): not found any more
    with pytest.raises(MethodNotFound):
        consumer.get_provider_for_method("sales.method_7")
    replacement = Entrypoint("method_new")
    consumer._providers.add(replacement)  # as many as the table was made for, one of them new: still found
    assert consumer.get_provider_for_method("sales.method_new") is replacement
    consumer._providers.add(Entrypoint("method_more"))
    assert consumer.get_provider_for_method("sales.method_more").method_name == "method_more"
