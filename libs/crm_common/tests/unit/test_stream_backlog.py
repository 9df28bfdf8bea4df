"""A batched stream drains a backlog in full batches: the broker lets twice CRM_EVENT_BATCH_MAX events wait
unacknowledged, so the next batch fills while one runs (with a prefetch of one batch, only the few events acked
meanwhile could arrive: batches alternately full and of one or two events, each paying a whole transaction); a
batch takes the earliest events waiting, in order, and never more than the batch maximum. The stream's own
scheduling, over a stand-in container and broker."""
from __future__ import annotations

from collections import deque
from types import SimpleNamespace

from crm_common import config
from crm_common.contracts.platform import PROBE_EMITTED
from crm_common.envelope import make_envelope
from crm_common.stream import BatchQueueConsumer, EventStream


class Container:
    service_name = "probe_consumer"

    def __init__(self):
        self.batches: list[list[int]] = []  # the events of each worker, as spawned
        self.running = None  # the running worker's handle_result

    def spawn_worker(self, entrypoint, args, kwargs, context_data=None, handle_result=None):
        assert self.running is None, "one batch at a time"
        self.batches.append([e["data"]["seq"] for e in args[0]])
        self.running = handle_result


class Broker(BatchQueueConsumer):
    """The queue: delivers the backlog in order while fewer than the prefetch are unacknowledged."""

    def __init__(self, backlog: int):
        super().__init__()
        self.backlog = deque(range(backlog))
        self.unacked = 0
        self.most_unacked = 0

    def deliver(self, stream: EventStream) -> None:
        while self.backlog and self.unacked < self.prefetch_count:
            self.unacked += 1
            self.most_unacked = max(self.most_unacked, self.unacked)
            envelope = make_envelope(PROBE_EMITTED, {"key": "k", "seq": self.backlog.popleft()}, "platform", None,
                                     None)
            stream.handle_message(envelope, SimpleNamespace(
                properties={"user_id": config.broker_user("probe_consumer")}, headers={}))

    def ack_batch(self, messages: list) -> None:
        self.unacked -= len(messages)


def drain_backlog(monkeypatch, backlog: int, batch_max: int) -> tuple[list[list[int]], Broker]:
    monkeypatch.setenv("CRM_EVENT_BATCH_MAX", str(batch_max))
    s = EventStream(batch=True)
    s.container, s.queue_consumer = Container(), Broker(backlog)
    while True:
        s.queue_consumer.deliver(s)  # what arrives while the batch runs
        done, s.container.running = s.container.running, None
        if done is None:
            return s.container.batches, s.queue_consumer
        done(None, result=None)  # the batch committed: acked, and the next one goes


def test_a_backlog_goes_in_full_batches_in_order(monkeypatch):
    batches, broker = drain_backlog(monkeypatch, backlog=53, batch_max=5)
    assert batches[0] == [0]  # an idle queue's first event goes at once
    assert [len(b) for b in batches[1:]] == [5] * 10 + [2]
    assert [seq for b in batches for seq in b] == list(range(53))
    assert broker.unacked == 0


def test_the_events_waiting_unacknowledged_stay_bounded_by_twice_the_batch_maximum(monkeypatch):
    _, broker = drain_backlog(monkeypatch, backlog=100, batch_max=5)
    assert broker.prefetch_count == 10 and broker.most_unacked == 10
