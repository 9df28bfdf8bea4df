"""A consumer running as its own least-privilege broker user: an event from its producer's user is
applied, also after a failed first attempt (the retry goes out and comes back as the consumer's own
user); the same event from another user is not applied."""
from __future__ import annotations

import functools

import pytest
from kombu import Connection, Producer

from crm_common import brokerusers, topology
from crm_common.contracts.platform import PROBE_EMITTED
from crm_common.envelope import make_envelope
from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.integration
ACCOUNTS = ("platform", "probe_consumer")  # the producer of platform.* events, the consumer


wait_for = functools.partial(eventually, timeout=20.0, interval=0.2)  # fails at the wait, showing what it saw


def test_events_from_the_producers_user_are_applied_once_also_after_a_retry(world, monkeypatch):
    monkeypatch.setenv("CRM_EXTRA_SUBSCRIPTIONS", "probe_consumer=platform")
    monkeypatch.setenv("CRM_RETRY_DELAYS", world.env["CRM_RETRY_DELAYS"])
    prefix, uris = brokerusers.create(world.vhost.uri, world.tmp / "amqp", accounts=ACCOUNTS)
    try:
        topology.declare({"probe_consumer": ("platform",)}, uri=world.vhost.uri)  # as guest: the topology job
        world.start("consumer", AMQP_URI=uris["probe_consumer"], CRM_BROKER_USER_PREFIX=prefix,
                    CRM_EXTRA_SUBSCRIPTIONS="probe_consumer=platform")

        def publish(uri, key, user_id, fail_times=0):
            event = make_envelope(PROBE_EMITTED, {"key": key, "seq": 1, "fail_times": fail_times}, "platform", None, None)
            with Connection(uri, transport_options={"confirm_publish": True}) as conn:
                Producer(conn.channel(), serializer="json").publish(
                    event, exchange="platform.events", routing_key=PROBE_EMITTED, user_id=user_id)

        publish(uris["platform"], "first-time", f"{prefix}platform")
        publish(uris["platform"], "retried", f"{prefix}platform", fail_times=1)
        publish(world.vhost.uri, "from-guest", "guest")  # the broker's administrator is not the producer
        assert wait_for(lambda: world.call("probe_consumer", "applied", "retried") == {"1": 1})
        assert world.call("probe_consumer", "applied", "first-time") == {"1": 1}
        assert world.call("probe_consumer", "applied", "from-guest") == {}
        log = world.procs["consumer"].log_path.read_text()
        assert "failed (attempt 1)" in log and "could not schedule a retry" not in log  # it went by its retry queue
    finally:
        brokerusers.delete(prefix, ACCOUNTS)
