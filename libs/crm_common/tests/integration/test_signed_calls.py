"""A service runs an RPC only for a caller signed for that very call: a request put on the bus with no
caller, a forged one, another key's signature, an expired one or one signed for another method is
refused and writes nothing. The dead-letter RPCs are for administrators."""
from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import func, select

from crm_common import callers
from crm_common.callers import OPERATOR
from crm_common.context import Actor
from crm_common.db import make_engine
from crm_common.errors import ServiceError
from crm_common.rpcclient import _Member
from crm_common.testing import probe

pytestmark = pytest.mark.integration


def records(world, key: str) -> int:
    engine = make_engine(world.env["PROBE_PRODUCER_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(probe.ProbeRecord)
                                .where(probe.ProbeRecord.key == key)).scalar_one()
    finally:
        engine.dispose()


def raw_call(world, method: str, args: list, data: dict):
    """A request published straight to `nameko-rpc` with exactly these context headers."""
    member = _Member(world.vhost.uri, timeout=10)
    try:
        return member.call("probe_producer", method, args, {}, data)
    finally:
        member.close()


def refused(world, method, args, data) -> str:
    with pytest.raises(ServiceError) as raised:
        raw_call(world, method, args, data)
    assert raised.value.code == "unauthenticated"
    return raised.value.detail


def test_requests_without_a_valid_signed_caller_are_refused_and_write_nothing(running_world):
    world = running_world
    key = callers.load_key(world.env["CRM_BUS_KEY_FILE"])
    admin = Actor(user_id="u-admin", roles=("admin",))
    target = "probe_producer.write"
    cases = {
        "no caller": {"request_id": "rid-nocaller"},
        "forged system caller": {"request_id": "rid-forged", "crm_actor": '{"kind": "system"}'},
        "another key": callers.sign(os.urandom(32), target, admin),
        "expired": callers.sign(key, target, admin, now=time.time() - 120),
        "signed for another method": callers.sign(key, "probe_producer.echo", admin),
        "tampered actor": {**callers.sign(key, target, Actor(user_id="u-1")), "crm_actor": admin.encode()},
    }
    for name, data in cases.items():
        detail = refused(world, "write", [f"refused-{name}", 1], data)
        assert detail, name
    assert all(records(world, f"refused-{name}") == 0 for name in cases)
    # the same request signed for it is run
    assert raw_call(world, "write", ["signed", 1], callers.sign(key, target, admin)) == {"key": "signed", "seq": 1}
    assert records(world, "signed") == 1


def test_the_pool_signs_every_call_even_without_an_actor(running_world):
    assert running_world.call("probe_producer", "echo", "hello") == "hello"


def test_dead_letters_are_for_administrators_only(running_world):
    world = running_world
    for actor in (None, Actor(user_id="u-1", roles=("sales_rep",), perms={"*": {"*": "all"}})):
        for method, args in (("dead_letters", ()), ("replay_dead_letters", (None,))):
            with pytest.raises(ServiceError) as raised:
                world.call("probe_consumer", method, *args, actor=actor)
            assert raised.value.code == "forbidden"
    assert isinstance(world.call("probe_consumer", "dead_letters", actor=Actor(user_id="u-a", roles=("admin",))), list)
    assert isinstance(world.call("probe_consumer", "dead_letters", actor=OPERATOR), list)


def test_an_event_not_published_by_its_producers_broker_user_is_not_applied(running_world):
    """Here every process is the one user of AMQP_URI (guest): an event without a user_id, or with one
    the broker let through for another connection's user, is dropped by the consumer; a real one is applied."""
    from kombu import Connection, Producer
    from crm_common.contracts.platform import PROBE_EMITTED
    from crm_common.envelope import make_envelope

    world = running_world

    def event(key):
        return make_envelope(PROBE_EMITTED, {"key": key, "seq": 1}, "probe_producer", None, None)

    with Connection(world.vhost.uri, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.channel(), serializer="json")
        producer.publish(event("stranger"), exchange="probe_producer.events", routing_key=PROBE_EMITTED)
        producer.publish(event("owner"), exchange="probe_producer.events", routing_key=PROBE_EMITTED, user_id="guest")
    deadline = time.time() + 10
    while time.time() < deadline and world.call("probe_consumer", "applied", "owner") != {"1": 1}:
        time.sleep(0.2)
    assert world.call("probe_consumer", "applied", "owner") == {"1": 1}
    assert world.call("probe_consumer", "applied", "stranger") == {}
    assert [x for x in world.call("probe_consumer", "dead_letters", actor=OPERATOR) if "stranger" in str(x)] == []
