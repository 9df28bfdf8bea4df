"""A batched stream's linger (`event_stream(..., batch=True, linger_ms=...)`): the first event to wait waits that
long for others, which share its batch; an event alone goes once the linger is over; a full batch goes at once;
a stream that stops leaves no batch waiting. The stream's own scheduling, over a stand-in container (no broker)."""
from __future__ import annotations

import time
from types import SimpleNamespace

import eventlet
import pytest

from crm_common import config
from crm_common.contracts.platform import PROBE_EMITTED
from crm_common.envelope import make_envelope
from crm_common.stream import EventStream


class Container:
    service_name = "probe_consumer"

    def __init__(self):
        self.batches: list[tuple[float, list]] = []  # (when, the events of one worker)

    def spawn_worker(self, entrypoint, args, kwargs, context_data=None, handle_result=None):
        self.batches.append((time.monotonic(), [e["data"]["seq"] for e in args[0]]))

    def spawn_managed_thread(self, fn, identifier=None):
        return eventlet.spawn(fn)


class QueueConsumer:
    prefetch_count = 5

    def unregister_provider(self, provider):
        pass


def stream(linger: float) -> EventStream:
    s = EventStream(batch=True)
    s.container, s.queue_consumer, s.linger = Container(), QueueConsumer(), linger
    return s


def deliver(s: EventStream, seq: int) -> None:
    envelope = make_envelope(PROBE_EMITTED, {"key": "k", "seq": seq}, "platform", None, None)
    s.handle_message(envelope, SimpleNamespace(properties={"user_id": config.broker_user("probe_consumer")},
                                               headers={}))


def wait_for_batches(s: EventStream, count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while len(s.container.batches) < count and time.monotonic() < deadline:
        eventlet.sleep(0.005)


def test_without_a_linger_an_idle_event_goes_at_once():
    s = stream(0)
    deliver(s, 0)
    assert [seqs for _, seqs in s.container.batches] == [[0]]


@pytest.mark.parametrize("linger", [0.2])
def test_events_within_the_linger_share_a_batch_and_a_lone_event_goes_when_it_is_over(linger):
    s = stream(linger)
    began = time.monotonic()
    for seq in range(3):
        deliver(s, seq)
        eventlet.sleep(0.02)
    assert s.container.batches == []  # the first still lingers
    wait_for_batches(s, 1)
    (when, seqs), = s.container.batches
    assert seqs == [0, 1, 2] and linger <= when - began < linger + 0.15
    s._draining = False  # the batch is done (its worker's result)
    s._drain_when_due()
    began = time.monotonic()
    deliver(s, 3)
    wait_for_batches(s, 2)
    when, seqs = s.container.batches[1]
    assert seqs == [3] and linger - 0.01 <= when - began < linger + 0.15


def test_a_full_batch_goes_at_once():
    s = stream(10.0)
    for seq in range(5):  # the queue consumer's prefetch
        deliver(s, seq)
    assert [seqs for _, seqs in s.container.batches] == [[0, 1, 2, 3, 4]]


def test_events_that_arrive_while_a_batch_runs_go_when_it_is_done_and_their_linger_is_over():
    s = stream(0.1)
    deliver(s, 0)
    wait_for_batches(s, 1)
    deliver(s, 1)  # while the first batch runs
    eventlet.sleep(0.15)
    assert len(s.container.batches) == 1
    began = time.monotonic()
    s._batch_done([], None)  # the first batch done: the second has waited its linger already
    assert [seqs for _, seqs in s.container.batches] == [[0], [1]]
    assert s.container.batches[1][0] - began < 0.05


def test_a_stopping_stream_leaves_no_batch_waiting():
    s = stream(10.0)
    deliver(s, 0)
    deliver(s, 1)
    s.stop()
    assert [seqs for _, seqs in s.container.batches] == [[0, 1]]
    deliver(s, 2)  # delivered before the consumer was cancelled
    s._batch_done([], None)
    assert [seqs for _, seqs in s.container.batches] == [[0, 1], [2]]
