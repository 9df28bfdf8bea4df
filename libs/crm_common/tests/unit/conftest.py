"""Fixtures the unit tests of the AMQP reading side share."""
from __future__ import annotations

import socket

import pytest
from amqp.transport import TCPTransport

from crm_common import amqpreads


@pytest.fixture
def reading_pair():
    """`reading_pair(wrap=None)`: (a transport's reading half on one end of a socket pair, the other end), with
    crm_common.amqpreads installed and no broker or handshake; `wrap` wraps the transport's socket."""
    opened = []

    def make(wrap=None):
        ours, theirs = socket.socketpair()
        opened.extend((ours, theirs))
        amqpreads.install()
        transport = TCPTransport.__new__(TCPTransport)
        transport.sock, transport.raise_on_initial_eintr = (wrap(ours) if wrap else ours), True
        transport._setup_transport()
        return transport, theirs
    yield make
    for sock in opened:
        sock.close()
