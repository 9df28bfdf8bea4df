"""Reading AMQP frames from a TCP connection in as few system calls as the bytes allow.

amqp's `TCPTransport._read(n)` asks the socket for exactly the `n` bytes the frame parser wants next: a frame's
7-byte header, its payload, its end octet. A message is three frames (method, content header, body), so each
delivery or reply costs nine `recv` calls, and under eventlet each is a trip through the green socket. Here a
short buffer is topped up with what the socket has (up to READ_SIZE bytes), and the parser's reads are served from
it: one `recv` for a message, or for several that arrived together. Everything else is amqp's own: the bytes of a
read cut short by a timeout stay in `_read_buffer`, as amqp keeps them, for the next read. Every frame is still
read through `read_frame`, whose callers read the connection directly (no readiness check of the socket that
buffered frames could miss). TLS connections (`SSLTransport`) keep amqp's own reads.
"""
from __future__ import annotations

import errno
import socket

from amqp.transport import TCPTransport

READ_SIZE = 16384  # bytes asked of the socket at a time: a few messages; the rest of a larger frame is read as needed


def _read(self, n, initial=False, _errnos=(errno.EAGAIN, errno.EINTR)):
    """Exactly `n` bytes from the connection (amqp's contract), read ahead from the socket into `_read_buffer`."""
    rbuf = self._read_buffer
    if len(rbuf) < n:
        recv = self._quick_recv
        try:
            while len(rbuf) < n:
                try:
                    s = recv(max(n - len(rbuf), READ_SIZE))
                except OSError as exc:
                    if exc.errno in _errnos:
                        if initial and self.raise_on_initial_eintr:
                            raise socket.timeout() from None
                        continue
                    raise
                if not s:
                    raise OSError("Server unexpectedly closed connection")
                rbuf += s
        except:  # noqa: E722 - as amqp: whatever was read stays for the next read, then the error goes on
            self._read_buffer = rbuf
            raise
    result, self._read_buffer = rbuf[:n], rbuf[n:]
    return result


def install() -> None:
    """Read every plain TCP AMQP connection of this process through `_read` (idempotent)."""
    TCPTransport._read = _read
