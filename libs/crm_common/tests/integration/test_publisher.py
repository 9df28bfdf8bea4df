"""The event publisher against the real broker: confirmed publishes side by side, in order per caller."""
from __future__ import annotations

import json
import threading

import pytest
from kombu import Connection, Queue

from crm_common.bus import Publisher, events_exchange
from crm_common.testing.harness import Vhost

pytestmark = pytest.mark.integration


@pytest.fixture
def vhost():
    vhost = Vhost().create()
    yield vhost
    vhost.delete()


def envelope(producer: str, writer: int, seq: int) -> dict:
    return {"event_id": f"{writer}-{seq}", "type": "probe.written.v1", "producer": producer,
            "data": {"writer": writer, "seq": seq}}


def test_concurrent_publishes_are_all_confirmed_on_a_few_connections_each_writer_in_order(vhost):
    queue = Queue("publisher-test", exchange=events_exchange("probe"), routing_key="#", durable=True)
    with Connection(vhost.uri) as conn:
        queue(conn.channel()).declare()
    publisher = Publisher(vhost.uri, size=3)
    errors = []

    def writer(number: int):
        try:
            for seq in range(25):
                publisher.publish(envelope("probe", number, seq))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert 1 <= len(publisher._links) <= 3  # opened as needed, never more than its size
    publisher.close()

    received: dict[int, list[int]] = {}
    with Connection(vhost.uri) as conn:
        channel = conn.channel()
        while (message := channel.basic_get("publisher-test", no_ack=True)) is not None:
            data = json.loads(message.body)["data"]
            received.setdefault(data["writer"], []).append(data["seq"])
    assert received == {n: list(range(25)) for n in range(8)}  # every one, each writer's in its order


def test_a_list_of_events_is_published_in_order_and_confirmed_together(vhost):
    queue = Queue("publisher-all-test", exchange=events_exchange("probe"), routing_key="#", durable=True)
    with Connection(vhost.uri) as conn:
        queue(conn.channel()).declare()
    publisher = Publisher(vhost.uri, size=1)
    for batch in range(5):
        publisher.publish_all([envelope("probe", batch, seq) for seq in range(20)])
    publisher.publish(envelope("probe", 5, 0))  # one at a time on the same connection still numbers right
    publisher.publish_all([envelope("probe", 5, 1), envelope("probe", 5, 2)])
    assert len(publisher._links) == 1
    publisher.close()
    received = []
    with Connection(vhost.uri) as conn:
        channel = conn.channel()
        while (message := channel.basic_get("publisher-all-test", no_ack=True)) is not None:
            data = json.loads(message.body)
            received.append((data["data"]["writer"], data["data"]["seq"]))
            assert message.properties["delivery_mode"] == 2 and message.properties["message_id"] == data["event_id"]
    assert received == [(b, s) for b in range(5) for s in range(20)] + [(5, 0), (5, 1), (5, 2)]


def test_a_list_of_events_goes_to_the_socket_in_one_write_large_ones_too(vhost):
    """The frames of a list's messages are written together (one system call, not one per message), the same
    bytes in the same order: a message larger than a frame (several frames) among small ones arrives whole."""
    queue = Queue("publisher-one-write", exchange=events_exchange("probe"), routing_key="#", durable=True)
    with Connection(vhost.uri) as conn:
        queue(conn.channel()).declare()
    publisher = Publisher(vhost.uri, size=1)
    publisher.publish(envelope("probe", 0, 0))  # the link is open
    [link] = publisher._links
    sock = link.conn.connection.transport.sock
    writes = []
    real = sock.sendall

    class Counting:
        def __getattr__(self, name):
            return getattr(sock, name)

        def sendall(self, data, *args):
            writes.append(len(data))
            return real(data, *args)
    transport = link.conn.connection.transport
    transport.sock, transport._write = Counting(), Counting().sendall
    big = {**envelope("probe", 1, 1), "data": {"writer": 1, "seq": 1, "text": "x" * 300_000}}
    events = [envelope("probe", 1, 0), big] + [envelope("probe", 1, seq) for seq in range(2, 30)]
    publisher.publish_all(events)
    assert len(writes) == 1 and writes[0] > 300_000
    publisher.close()
    received = []
    with Connection(vhost.uri) as conn:
        channel = conn.channel()
        while (message := channel.basic_get("publisher-one-write", no_ack=True)) is not None:
            data = json.loads(message.body)["data"]
            received.append((data["writer"], data["seq"], len(data.get("text", ""))))
    assert received == [(0, 0, 0), (1, 0, 0), (1, 1, 300_000)] + [(1, seq, 0) for seq in range(2, 30)]


def test_a_refused_message_raises_and_the_link_goes_on_confirming(vhost):
    """The broker's confirms are read frame by frame: each ack counted, a nack among them (a full queue that
    rejects publishes) raised as MessageNacked, and the connection's later publishes confirmed as before."""
    from amqp.exceptions import MessageNacked
    full = Queue("publisher-full", exchange=events_exchange("probe"), routing_key="probe.written.v1", durable=True,
                 queue_arguments={"x-max-length": 2, "x-overflow": "reject-publish"})
    with Connection(vhost.uri) as conn:
        full(conn.channel()).declare()
    publisher = Publisher(vhost.uri, size=1)
    publisher.publish_all([{**envelope("probe", 0, seq), "type": "probe.other.v1"} for seq in range(50)])  # unrouted
    with pytest.raises(MessageNacked):
        publisher.publish_all([envelope("probe", 1, seq) for seq in range(4)])  # the third and fourth refused
    [link] = publisher._links
    assert link.waiting == set() and len(link.refused) == 2
    received = link.conn.connection.bytes_recv
    publisher.publish_all([{**envelope("probe", 2, seq), "type": "probe.other.v1"} for seq in range(30)])
    assert link.waiting == set() and link.refused == [] and link.sent == 84
    # each confirm counts as a frame received, as amqp's heartbeat check expects of a live connection
    assert link.conn.connection.bytes_recv - received >= 30
    publisher.close()
    with Connection(vhost.uri) as conn:
        channel = conn.channel()
        kept = []
        while (message := channel.basic_get("publisher-full", no_ack=True)) is not None:
            kept.append(json.loads(message.body)["data"]["seq"])
    assert kept == [0, 1]
