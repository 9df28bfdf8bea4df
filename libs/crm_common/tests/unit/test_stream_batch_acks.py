"""A batched stream acks a batch's messages with as few frames as is safe: one basic.ack `multiple` for those of
the channel's earliest unacked deliveries that all belong to the batch, one by one after a delivery that does not
(a retry in work, an event of the next batch), which a multiple ack would otherwise settle unapplied."""
from __future__ import annotations

from kombu.message import Message

from crm_common.stream import BatchQueueConsumer


class Channel:
    no_ack_consumers = None
    connection = object()

    def __init__(self):
        self.frames: list[tuple[int, bool]] = []

    def basic_ack(self, tag, multiple=False):
        self.frames.append((tag, multiple))

    def basic_reject(self, tag, requeue=False):
        self.frames.append((tag, "requeued"))


class Provider:
    def handle_message(self, body, message):
        pass


class Container:
    def spawn_managed_thread(self, fn, identifier=None):
        pass  # the stream's own handling is not under test here


def delivered(consumer, channel, *tags) -> dict:
    messages = {}
    for tag in tags:
        messages[tag] = Message(body=b"{}", delivery_tag=tag, channel=channel, delivery_info={"routing_key": "k"})
        consumer.handle_message(Provider(), {}, messages[tag])
    return messages


def consumer_and_channel():
    consumer = BatchQueueConsumer()
    consumer.container = Container()
    return consumer, Channel()


def test_a_batch_of_every_unacked_delivery_is_acked_in_one_frame():
    consumer, channel = consumer_and_channel()
    m = delivered(consumer, channel, 1, 2, 3)
    consumer.ack_batch([m[1], m[2], m[3]])
    assert channel.frames == [(3, True)]
    assert consumer._unacked == {}


def test_a_delivery_in_work_before_the_batch_keeps_its_acks_one_by_one():
    consumer, channel = consumer_and_channel()
    m = delivered(consumer, channel, 1, 2, 3)  # 1: a retry, applied on its own
    consumer.ack_batch([m[2], m[3]])
    assert channel.frames == [(2, False), (3, False)]
    consumer.ack_message(m[1])
    assert channel.frames[-1] == (1, False) and consumer._unacked == {}


def test_the_run_before_a_delivery_outside_the_batch_shares_a_frame_and_the_rest_go_one_by_one():
    consumer, channel = consumer_and_channel()
    m = delivered(consumer, channel, 1, 2, 3, 4, 5)  # 4: in the next batch
    consumer.ack_batch([m[1], m[2], m[3], m[5]])
    assert channel.frames == [(3, True), (5, False)]
    assert list(consumer._unacked) == [(channel, 4)]


def test_deliveries_acked_or_requeued_on_their_own_no_longer_hold_a_batch_back():
    consumer, channel = consumer_and_channel()
    m = delivered(consumer, channel, 1, 2, 3, 4)
    consumer.ack_message(m[1])
    consumer.requeue_message(m[2])
    consumer.ack_batch([m[3], m[4]])
    assert channel.frames == [(1, False), (2, "requeued"), (4, True)]


def test_a_batch_across_a_reconnection_is_acked_one_by_one():
    consumer, old = consumer_and_channel()
    new = Channel()
    first, second = delivered(consumer, old, 1), delivered(consumer, new, 1)
    consumer.ack_batch([first[1], second[1]])
    assert old.frames == [(1, False)] and new.frames == [(1, False)]


def test_a_reconnection_forgets_the_deliveries_of_the_connection_before():
    """The broker took them back when that connection closed: none is kept (nor its message's body) for good."""
    consumer, old = consumer_and_channel()
    delivered(consumer, old, 1, 2, 3)
    assert len(consumer._unacked) == 3
    consumer.get_consumers(lambda **kwargs: None, Channel())
    assert consumer._unacked == {}
