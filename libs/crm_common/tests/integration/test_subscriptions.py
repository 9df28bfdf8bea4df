"""Consumers own their subscriptions: a service's queue receives the event types of its handler table
and nothing else; identity (audit trail) and analytics take everything; declaring the topology again
removes the catch-all bindings of an earlier release."""
from __future__ import annotations

import os
import time

import pytest
from kombu import Connection, Exchange, Producer, Queue

from crm_common import topology
from crm_common.testing.harness import Vhost

pytestmark = pytest.mark.integration

CONSUMERS = ("identity", "sales", "service_desk", "marketing", "analytics")
ALL = ("identity", "sales", "service_desk", "marketing", "analytics", "platform")
EARLIER = {"identity": ALL, "sales": ("identity", "marketing", "service_desk"), "service_desk": ("identity", "sales"),
           "marketing": ("identity", "sales", "service_desk"), "analytics": ALL}  # the release before


@pytest.fixture
def vhost(monkeypatch):
    monkeypatch.setenv("CRM_RETRY_DELAYS", "1")
    monkeypatch.delenv("CRM_EXTRA_SUBSCRIPTIONS", raising=False)
    v = Vhost().create()
    try:
        yield v
    finally:
        v.delete()


def publish(conn, *types):
    producer = Producer(conn.channel(), serializer="json")
    for type_ in types:
        producer.publish({"type": type_, "event_id": os.urandom(8).hex()}, exchange=f"{type_.split('.', 1)[0]}.events",
                         routing_key=type_)


def counts(conn) -> dict[str, int]:
    """Messages waiting in each consumer's queue (basic_get drains them, so each count is read once)."""
    channel = conn.channel()
    result = {}
    for consumer in CONSUMERS:
        n = 0
        while channel.basic_get(topology.queue_name(consumer), no_ack=True) is not None:
            n += 1
        result[consumer] = n
    return result


def test_a_consumer_queue_receives_only_the_types_it_declared(vhost):
    topology.declare(uri=vhost.uri)
    with Connection(vhost.uri) as conn:
        # marketing handles the privacy request and sales' leads (its audience); sales also users and web forms
        publish(conn, "identity.role_created.v1", "sales.lead_created.v1", "identity.privacy_requested.v1",
                "marketing.form_submitted.v1")
        time.sleep(0.3)
        got = counts(conn)
    assert got == {"identity": 4, "analytics": 4,  # every event of every producer
                   "marketing": 2,                # identity.privacy_requested.v1, sales.lead_created.v1
                   "sales": 2,                    # identity.privacy_requested.v1, marketing.form_submitted.v1
                   "service_desk": 1}             # identity.privacy_requested.v1


def test_declaring_again_removes_the_catch_all_bindings_of_an_earlier_release(vhost):
    with Connection(vhost.uri) as conn:
        channel = conn.channel()
        for consumer, producers in EARLIER.items():  # every consumer bound to `#` of each of its producers
            for producer in producers:
                Queue(topology.queue_name(consumer), durable=True, queue_arguments={"x-queue-type": "classic"},
                      exchange=Exchange(f"{producer}.events", type="topic", durable=True),
                      routing_key="#")(channel).declare()
        publish(conn, "sales.lead_created.v1")
        time.sleep(0.3)
        before = counts(conn)
        topology.declare(uri=vhost.uri)
        publish(conn, "sales.lead_created.v1")
        time.sleep(0.3)
        after = counts(conn)
    assert before == {"identity": 1, "analytics": 1, "sales": 0, "service_desk": 1, "marketing": 1}
    assert after == {"identity": 1, "analytics": 1, "sales": 0, "service_desk": 0, "marketing": 1}  # its audience
