"""A port for a server started a moment later: the suite's processes, the mail catcher, tests and benchmarks."""
from __future__ import annotations

import random
import socket

_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"


def free_port() -> int:
    """A port free now on 127.0.0.1, for a server started a moment later. It is taken below the kernel's range of
    ephemeral ports when there is room: a port the kernel hands out for port 0 is in that range, and any process's
    outgoing connection (a database or broker client's local port) can take it before the server binds it."""
    try:
        with open(_RANGE) as found:
            low = int(found.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(100) if low > 11000 else ():
        port = random.randrange(10000, low)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
