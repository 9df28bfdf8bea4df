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
