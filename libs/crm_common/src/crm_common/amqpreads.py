"""Reading AMQP frames from a TCP connection in as few system calls as the bytes allow.

amqp's `TCPTransport._read(n)` asks the socket for exactly the `n` bytes the frame parser wants next: a frame's
7-byte header, its payload, its end octet. A message is three frames (method, content header, body), so each
delivery or reply costs nine `recv` calls, and under eventlet each is a trip through the green socket. Here the
transport's `recv` asks for at least READ_SIZE bytes: amqp's own `_read` keeps what comes beyond the `n` it wanted
in its `_read_buffer` and serves the next reads from it, so one `recv` reads a message, or several that arrived
together (and the bytes of a read cut short by a timeout stay there too, as amqp keeps them). Every frame is still
read through `read_frame`, whose callers read the connection directly (no readiness check of the socket that
buffered frames could miss). TLS connections (`SSLTransport`) keep amqp's own reads.
"""
from __future__ import annotations

from amqp.transport import TCPTransport

READ_SIZE = 16384  # bytes asked of the socket at a time: a few messages; the rest of a larger frame is read as needed


def _setup_transport(self) -> None:
    _amqp_setup(self)
    recv = self.sock.recv
    self._quick_recv = lambda n: recv(max(n, READ_SIZE))


_amqp_setup = TCPTransport._setup_transport


def install() -> None:
    """Read every plain TCP AMQP connection of this process opened from now on ahead (idempotent)."""
    TCPTransport._setup_transport = _setup_transport
