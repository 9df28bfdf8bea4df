"""AMQP frames read ahead from the socket (crm_common.amqpreads): the same frames as amqp's exact reads, one
`recv` for the frames that arrived together, and a read cut short by a timeout loses nothing."""
from __future__ import annotations

import socket
import struct

import pytest


def frame(kind: int, channel: int, payload: bytes) -> bytes:
    return struct.pack(">BHI", kind, channel, len(payload)) + payload + b"\xce"


class Counting:
    """A socket whose recv calls are counted."""

    def __init__(self, sock):
        self.sock, self.calls = sock, 0

    def recv(self, size):
        self.calls += 1
        return self.sock.recv(size)

    def __getattr__(self, name):
        return getattr(self.sock, name)


@pytest.fixture
def pair(reading_pair):
    return reading_pair(Counting)


FRAMES = [(1, 1, b"\x00<\x00<" + b"m" * 40), (2, 1, b"h" * 300), (3, 1, b"{}" * 600), (8, 0, b"")]


def test_frames_that_arrived_together_are_read_with_one_recv_and_come_out_as_sent(pair):
    transport, peer = pair
    peer.sendall(b"".join(frame(*f) for f in FRAMES))
    assert [transport.read_frame() for _ in FRAMES] == FRAMES
    assert transport.sock.calls == 1 and transport._read_buffer == b""


def test_a_frame_larger_than_a_read_and_one_sent_in_pieces_are_whole(pair):
    transport, peer = pair
    big = (3, 2, bytes(range(256)) * 300)  # 76,800 bytes: several reads
    data = frame(*big) + frame(*FRAMES[0])
    peer.sendall(data[:5])
    peer.sendall(data[5:])
    assert transport.read_frame() == big and transport.read_frame() == FRAMES[0]


def test_a_read_cut_short_by_a_timeout_keeps_its_bytes_for_the_next(pair):
    transport, peer = pair
    whole = frame(*FRAMES[1])
    peer.sendall(whole[:100])
    transport.sock.settimeout(0.05)
    with pytest.raises(socket.timeout):
        transport.read_frame()
    peer.sendall(whole[100:] + frame(*FRAMES[2]))
    transport.sock.settimeout(None)
    assert transport.read_frame() == FRAMES[1] and transport.read_frame() == FRAMES[2]
