"""A batched event stream (`event_stream(..., batch=True)`, identity's audit consumer) keeps every promise of
the one-by-one stream: each event applied once, a failing event retried or dead-lettered on its own while the
events of its batch are applied, and events that wait while a batch runs go in the next."""
from __future__ import annotations

import functools
import time

import pytest

from crm_common.callers import OPERATOR
from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.integration


wait_for = functools.partial(eventually, timeout=30.0, interval=0.2)  # fails at the wait, showing what it saw


@pytest.fixture
def batched_world(world):
    world.pool.timeout = 60  # a drive answers once all its writes committed: slow on a busy machine
    world.start("producer")
    world.start("consumer", CRM_PROBE_BATCH="1")
    return world


def test_a_burst_is_applied_once_each(batched_world):
    world = batched_world
    world.call("probe_producer", "drive", "burst", 200, 400)
    applied = wait_for(lambda: (lambda a: a if len(a) == 200 else None)(
        world.call("probe_consumer", "applied", "burst")))
    assert applied == {str(seq): 1 for seq in range(200)}
    time.sleep(1.0)  # the relay runs meanwhile: nothing is applied twice
    assert world.call("probe_consumer", "applied", "burst") == applied


def test_a_failing_event_among_others_is_retried_alone_and_the_others_applied_once(batched_world):
    world = batched_world
    world.call("probe_producer", "drive", "around-flaky", 60, 400)
    world.call("probe_producer", "write", "flaky", 1, fail_times=2)
    world.call("probe_producer", "drive", "after-flaky", 60, 400)
    assert wait_for(lambda: world.call("probe_consumer", "applied", "flaky") == {"1": 1})
    assert wait_for(lambda: len(world.call("probe_consumer", "applied", "after-flaky")) == 60)
    time.sleep(1.0)
    assert world.call("probe_consumer", "applied", "flaky") == {"1": 1}
    assert world.call("probe_consumer", "applied", "around-flaky") == {str(seq): 1 for seq in range(60)}
    assert world.call("probe_consumer", "applied", "after-flaky") == {str(seq): 1 for seq in range(60)}
    assert [x for x in world.call("probe_consumer", "dead_letters", actor=OPERATOR) if "flaky" in x["error"]] == []


def test_a_poison_event_in_a_burst_is_dead_lettered_and_the_rest_flows(batched_world):
    world = batched_world
    world.call("probe_producer", "drive", "before-poison", 40, 400)
    world.call("probe_producer", "write", "poison", 1, always_fail=True)
    world.call("probe_producer", "drive", "after-poison", 40, 400)
    assert wait_for(lambda: len(world.call("probe_consumer", "applied", "after-poison")) == 40)
    letters = wait_for(lambda: [x for x in world.call("probe_consumer", "dead_letters", actor=OPERATOR)
                                if "probe failure" in x["error"]])
    assert len(letters) == 1 and letters[0]["attempts"] == 3  # first try + the two configured retries
    assert world.call("probe_consumer", "applied", "poison") == {}
    assert world.call("probe_consumer", "applied", "before-poison") == {str(seq): 1 for seq in range(40)}
    assert world.call("probe_consumer", "applied", "after-poison") == {str(seq): 1 for seq in range(40)}


def test_a_linger_gathers_a_moderate_load_into_few_batches_and_an_idle_event_still_goes(world):
    """With a linger, events that arrive one by one (every 10 ms, each alone on an idle queue without it) share a
    transaction; an event on its own still goes once the linger is over, each applied once."""
    world.pool.timeout = 60
    world.start("producer")
    world.start("consumer", CRM_PROBE_BATCH="1", PROBE_CONSUMER_EVENT_BATCH_LINGER_MS="1000")
    world.call("probe_producer", "drive", "lingering", 20, 100)
    applied = wait_for(lambda: (lambda a: a if len(a) == 20 else None)(
        world.call("probe_consumer", "applied", "lingering")))
    assert applied == {str(seq): 1 for seq in range(20)}
    assert len(set(world.call("probe_consumer", "transactions", "lingering").values())) <= 3
    began = time.monotonic()
    world.call("probe_producer", "write", "alone", 1)
    wait_for(lambda: world.call("probe_consumer", "applied", "alone") == {"1": 1})
    assert time.monotonic() - began < 1.0 + 5.0  # its linger, and room for a busy machine
    transaction, = world.call("probe_consumer", "transactions", "alone").values()
    assert transaction not in world.call("probe_consumer", "transactions", "lingering").values()


def test_a_batch_waiting_out_its_linger_is_applied_when_the_consumer_stops_and_redelivered_when_it_is_killed(world):
    """Events waiting out a long linger are unacknowledged: a killed consumer's go back to the queue and are
    applied once by the next; a consumer that stops applies its waiting batch before it goes."""
    world.pool.timeout = 60
    world.start("producer")
    consumer = world.start("consumer", CRM_PROBE_BATCH="1", PROBE_CONSUMER_EVENT_BATCH_LINGER_MS="20000")
    world.call("probe_producer", "drive", "killed", 3, 100)
    time.sleep(1.0)  # delivered, waiting
    assert world.call("probe_consumer", "applied", "killed") == {}
    consumer.kill()
    world.start("consumer", CRM_PROBE_BATCH="1", PROBE_CONSUMER_EVENT_BATCH_LINGER_MS="200")
    assert wait_for(lambda: world.call("probe_consumer", "applied", "killed") == {str(seq): 1 for seq in range(3)})

    world.procs["consumer"].stop()
    consumer = world.start("consumer", CRM_PROBE_BATCH="1", PROBE_CONSUMER_EVENT_BATCH_LINGER_MS="20000")
    world.call("probe_producer", "drive", "stopped", 3, 100)
    time.sleep(1.0)
    assert world.call("probe_consumer", "applied", "stopped") == {}
    consumer.stop(timeout=15)
    assert consumer.proc.returncode is not None
    world.start("consumer", CRM_PROBE_BATCH="1", PROBE_CONSUMER_EVENT_BATCH_LINGER_MS="20000")
    # applied as the consumer stopped: not waiting out a linger again in this one
    assert world.call("probe_consumer", "applied", "stopped") == {str(seq): 1 for seq in range(3)}
    time.sleep(1.0)
    assert world.call("probe_consumer", "applied", "killed") == {str(seq): 1 for seq in range(3)}
