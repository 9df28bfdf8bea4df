"""A port for a server started a moment later is one no outgoing connection is handed meanwhile."""
from __future__ import annotations

import socket

from crm_common import ports


def test_a_free_port_is_below_the_ephemeral_range_and_free():
    with open(ports._RANGE) as found:
        low = int(found.read().split()[0])
    picked = {ports.free_port() for _ in range(20)}
    assert all(10000 <= port < low for port in picked), (picked, low)
    with socket.socket() as sock:  # free: a server can bind it
        sock.bind(("127.0.0.1", picked.pop()))


def test_a_port_in_use_is_not_given(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        other = ports.free_port()  # free now
        chosen = iter([port, port, other])
        monkeypatch.setattr(ports.random, "randrange", lambda low, high: next(chosen))
        assert ports.free_port() == other  # the port in use tried twice and passed over
