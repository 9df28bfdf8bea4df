"""One HTTP/1.1 POST on a connection the sender opened (`crm_common.urlguard.connect`: pinned to the checked
address, TLS checked for the URL's host), lean: the request line, headers and body written in one send (not
http.client's two, which cost a system call and a wake-up of the receiver more), and the answer's status line
and headers read without http.client's email parser (of the answer only the status, `Retry-After` and what
says whether the connection may be used again are needed).

The answer's body is read (and dropped) up to `limit` bytes: read whole (by Content-Length or chunks), the
connection may serve the next attempt unless either side said `close` (or the answer is HTTP/1.0 without
keep-alive); anything else closes it. Nothing here follows redirects: a 3xx is an answer like any other.
"""
from __future__ import annotations

import re

MAX_LINE = 65536  # as http.client: a longer status or header line is a broken answer
MAX_HEADERS = 100


class BadAnswer(Exception):
    """The receiver's answer is not HTTP/1.x as it should be."""


def post(conn, path: str, headers: dict, body: bytes, limit: int) -> tuple[int, str | None, bool]:
    """POST `body` to `path` over `conn` (an http.client connection object used for its socket: opened here
    when it is not yet); (status, Retry-After or None, whether the connection may be used again)."""
    if _UNSAFE.search(path):
        raise ValueError("the path has a control character or a space")
    if conn.sock is None:
        conn.connect()
    lines = [f"POST {path} HTTP/1.1\r\nHost: {_host(conn)}\r\nContent-Length: {len(body)}\r\n"]
    lines += [f"{name}: {value}\r\n" for name, value in headers.items()]
    lines.append("\r\n")
    conn.sock.sendall("".join(lines).encode("latin-1") + body)
    reader = getattr(conn, "_crm_reader", None)
    if reader is None or reader.raw is None or reader.closed:
        reader = conn._crm_reader = conn.sock.makefile("rb")
    while True:
        version, status = _status_line(reader)
        fields = _fields(reader)
        if status >= 200 or status < 100:
            break  # a 1xx (100 Continue) is followed by the real answer
    connection = fields.get(b"connection", b"").lower()
    keep = b"close" not in connection and (version == b"HTTP/1.1" or b"keep-alive" in connection)
    if status in (204, 304) or 100 <= status < 200:
        whole = True
    elif b"chunked" in fields.get(b"transfer-encoding", b"").lower():
        whole = _chunks(reader, limit)
    elif b"content-length" in fields:
        try:
            length = int(fields[b"content-length"])
        except ValueError:
            raise BadAnswer("Content-Length")
        whole = 0 <= length <= limit and len(reader.read(length)) == length
    else:  # the body runs to the end of the connection
        reader.read(limit)
        whole = keep = False
    retry_after = fields.get(b"retry-after")
    return status, retry_after.decode("latin-1") if retry_after is not None else None, keep and whole


def close(conn) -> None:
    """Close the connection and the reader kept on its socket (the socket's descriptor is released with both)."""
    reader = getattr(conn, "_crm_reader", None)
    if reader is not None:
        conn._crm_reader = None
        reader.close()
    conn.close()


_UNSAFE = re.compile("[\x00-\x20\x7f]")  # as http.client refuses in a request's path


def _host(conn) -> str:
    """The Host header: the URL's host (IDNA when not ASCII), with its port unless the scheme's default, as
    http.client sends it."""
    host = conn.host if conn.host.isascii() else conn.host.encode("idna").decode("ascii")
    host = f"[{host}]" if ":" in host else host
    return host if conn.port == conn.default_port else f"{host}:{conn.port}"


def _line(reader) -> bytes:
    line = reader.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise BadAnswer("line too long")
    if not line:
        raise ConnectionResetError("the receiver closed the connection")
    return line


def _status_line(reader) -> tuple[bytes, int]:
    parts = _line(reader).split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit() or len(parts[1]) != 3:
        raise BadAnswer("status line")
    return parts[0], int(parts[1])


def _fields(reader) -> dict[bytes, bytes]:
    """The header fields wanted here (lower-cased names; the last of repeated ones), up to the blank line."""
    fields = {}
    for _ in range(MAX_HEADERS + 1):
        line = _line(reader)
        if line in (b"\r\n", b"\n"):
            return fields
        name, sep, value = line.partition(b":")
        if sep:
            fields[name.strip().lower()] = value.strip()
    raise BadAnswer("too many header fields")


def _chunks(reader, limit: int) -> bool:
    """Read a chunked body and its trailer; False (the rest left unread) when it is longer than `limit`."""
    total = 0
    while True:
        size_text = _line(reader).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise BadAnswer("chunk size")
        if size == 0:
            _fields(reader)  # the trailer, up to the blank line
            return True
        total += size
        if total > limit:
            return False
        if len(reader.read(size + 2)) != size + 2:  # the chunk and its CRLF
            raise ConnectionResetError("the receiver closed the connection")
