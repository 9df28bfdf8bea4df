"""The link reads a publish's confirms (`bus._Link._confirms`): the basic.ack frames of its channel that one read
of the socket brought in are taken together from the read-ahead buffer; any other frame (a nack, a heartbeat, a
frame of another channel) goes through the connection's own handling, and a frame cut between two reads is read
whole by amqp."""
from __future__ import annotations

import socket
import struct
import threading
import time
from types import SimpleNamespace

import pytest

from crm_common import bus

_ACK, _NACK = struct.pack(">HH", 60, 80), struct.pack(">HH", 60, 120)


@pytest.fixture
def pair(reading_pair):
    transport, theirs = reading_pair()
    return SimpleNamespace(transport=transport, bytes_recv=0), theirs


def frame(kind: int, channel: int, payload: bytes) -> bytes:
    return struct.pack(">BHI", kind, channel, len(payload)) + payload + b"\xce"


def confirm(method: bytes, tag: int, multiple: bool = False, channel: int = 1) -> bytes:
    return frame(1, channel, method + struct.pack(">QB", tag, int(multiple)))


def link_on(connection, waiting: set[int]) -> tuple[bus._Link, list]:
    link = bus._Link("amqp://unused")
    link.channel, link.waiting = SimpleNamespace(channel_id=1), set(waiting)
    others = []

    def inbound(read):  # the connection's handling of a frame the link does not take itself
        others.append(read)
        if read[0] == 1 and read[1] == 1 and read[2][:4] == _NACK:
            tag, bits = struct.unpack_from(">QB", read[2], 4)
            link._nacked(tag, bits & 1)
    connection.on_inbound_frame = inbound
    return link, others


def test_confirms_read_together_are_all_taken_other_frames_handled_a_cut_frame_read_whole(pair):
    connection, theirs = pair
    link, others = link_on(connection, set(range(1, 9)))
    heartbeat, elsewhere = frame(8, 0, b""), confirm(_ACK, 3, channel=2)
    sent = (confirm(_ACK, 1) + confirm(_ACK, 2) + confirm(_ACK, 4, multiple=True) + elsewhere
            + confirm(_NACK, 5) + heartbeat + confirm(_ACK, 6) + confirm(_ACK, 7) + confirm(_ACK, 8))
    theirs.sendall(sent[:-10])  # the last confirm cut: its end comes with a later read
    later = threading.Timer(0.05, theirs.sendall, (sent[-10:],))
    later.start()
    link._confirms(connection, time.monotonic() + 5)
    later.join()
    assert link.waiting == set() and link.refused == [5]
    assert [(kind, channel) for kind, channel, _ in others] == [(1, 2), (1, 1), (8, 0)]  # in the order sent
    assert connection.bytes_recv == 6  # each of the channel's acks counted, as amqp's frame handler would
    assert connection.transport._read_buffer == b""


def test_what_follows_the_last_confirm_stays_for_the_connection(pair):
    connection, theirs = pair
    link, others = link_on(connection, {1, 2})
    theirs.sendall(confirm(_ACK, 1) + confirm(_ACK, 2) + frame(8, 0, b""))
    link._confirms(connection, time.monotonic() + 5)
    assert link.waiting == set() and others == []
    assert connection.transport._read_buffer == frame(8, 0, b"")  # the heartbeat, for the connection's next read


def test_no_confirm_in_time_is_a_timeout(pair):
    connection, theirs = pair
    link, _ = link_on(connection, {1, 2})
    theirs.sendall(confirm(_ACK, 1))
    with pytest.raises((TimeoutError, socket.timeout)):
        link._confirms(connection, time.monotonic() + 0.2)
    assert link.waiting == {2}
