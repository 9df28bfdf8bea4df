"""Before a publish the link reads what the broker sent meanwhile only when something is there (`bus.unread`):
bytes on the socket, or frames already read ahead from it; an idle connection is not drained."""
from __future__ import annotations

import struct
from types import SimpleNamespace

import pytest

from crm_common import bus


@pytest.fixture
def pair(reading_pair):
    transport, theirs = reading_pair()
    return SimpleNamespace(transport=transport), theirs


def frame(kind: int, channel: int, payload: bytes) -> bytes:
    return struct.pack(">BHI", kind, channel, len(payload)) + payload + b"\xce"


def test_an_idle_connection_has_nothing_unread(pair):
    connection, _ = pair
    assert bus.unread(connection) is False


def test_bytes_on_the_socket_are_unread(pair):
    connection, theirs = pair
    theirs.sendall(frame(8, 0, b""))  # a heartbeat
    assert bus.unread(connection) is True


def test_frames_read_ahead_are_unread_until_taken(pair):
    connection, theirs = pair
    theirs.sendall(frame(8, 0, b"") + frame(8, 0, b""))
    connection.transport.read_frame()  # one recv took both: the second waits in the read-ahead buffer
    assert bus.unread(connection) is True
    connection.transport.read_frame()
    assert bus.unread(connection) is False


def test_a_closed_peer_counts_as_unread_so_the_drain_finds_the_broken_connection(pair):
    connection, theirs = pair
    theirs.close()
    assert bus.unread(connection) is True
