"""The AMQP 0-9-1 frames of an event's basic.publish, as bytes (what amqp's `Channel._basic_publish` writes).

amqp builds each message's frames through its generic machinery: the method's arguments serialized by format
string, the properties looked up one by one in a table of fourteen, the frames packed into a shared buffer under
a lock, and, before each message, a non-blocking read of the connection. The publisher (`crm_common.bus`) sends
one kind of message only: JSON, persistent, with a message id, the broker user and a few headers; here its frames
are built from parts worked out once (the method frame of each exchange and routing key), and a transaction's
messages go to the socket together. A test compares the bytes with amqp's own.
"""
from __future__ import annotations

import functools
from struct import Struct, pack

from amqp.serialization import dumps
from amqp.spec import Basic

_END = b"\xce"
_METHOD, _HEADER, _BODY = 1, 2, 3
# the properties every event carries, in the order of their flag bits: content_type (bit 15), content_encoding
# (14), application_headers (13), delivery_mode (12); then message_id (7) and user_id (4) when given
_FIXED_FLAGS = 0xF000
_MESSAGE_ID, _USER_ID = 1 << 7, 1 << 4
_JSON, _UTF8, _PERSISTENT = b"\x10application/json", b"\x05utf-8", b"\x02"
# the property flags and the two fixed properties before the headers, for each of the four flag sets
_HEAD = {flags: pack(">H", flags) + _JSON + _UTF8
         for flags in (_FIXED_FLAGS | m | u for m in (0, _MESSAGE_ID) for u in (0, _USER_ID))}
_NO_HEADERS = pack(">I", 0)  # an empty field table
_FRAME = Struct(">BHI")  # a frame's type, channel and payload size
_CONTENT_HEADER = Struct(">BHIHHQ")  # the content header frame's head, then its class id, weight and body size


def _shortstr(text: str) -> bytes:
    raw = text.encode()
    if len(raw) > 255:
        raise ValueError(f"an AMQP short string holds at most 255 bytes, not {len(raw)}")
    return bytes((len(raw),)) + raw


_user = functools.lru_cache(maxsize=64)(_shortstr)  # a publisher's broker user: the same on every message


def _table(headers: dict) -> bytes:
    """A field table; text values (the usual headers: a request id) directly, anything else through amqp."""
    if not all(value.__class__ is str for value in headers.values()):
        return dumps("F", (headers,))
    parts = []
    for key, value in headers.items():
        raw = value.encode()
        parts += (_shortstr(key), b"S", pack(">I", len(raw)), raw)
    content = b"".join(parts)
    return pack(">I", len(content)) + content


def properties(headers: dict | None, message_id: str | None, user_id: str | None) -> bytes:
    """The content header's property flags and list: `application/json`, `utf-8`, the headers (None: none),
    persistent, the message id and the publishing user."""
    flags = _FIXED_FLAGS | (_MESSAGE_ID if message_id is not None else 0) | (_USER_ID if user_id is not None else 0)
    out = _HEAD[flags] + (_table(headers) if headers else _NO_HEADERS) + _PERSISTENT
    if message_id is not None:
        out += _shortstr(message_id)
    if user_id is not None:
        out += _user(user_id)
    return out


@functools.lru_cache(maxsize=4096)
def _method(channel_id: int, exchange: str, routing_key: str) -> bytes:
    """The method frame of basic.publish to an exchange with a routing key (an event type: a few dozen in all), on
    a channel, whole."""
    method = pack(">HH", *Basic.Publish) + dumps("Bssbb", (0, exchange, routing_key, False, False))
    return _FRAME.pack(_METHOD, channel_id, len(method)) + method + _END


def publish(channel_id: int, frame_max: int, exchange: str, routing_key: str, body: bytes, props: bytes) -> list[bytes]:
    """The pieces of a message's frames, in order (method, content header, body frames of at most `frame_max`)."""
    size = len(body)
    out = [_method(channel_id, exchange, routing_key),
           _CONTENT_HEADER.pack(_HEADER, channel_id, 12 + len(props), Basic.CLASS_ID, 0, size), props, _END]
    chunk = frame_max - 8
    if size <= chunk:  # most messages: one body frame
        if size:
            out += (_FRAME.pack(_BODY, channel_id, size), body, _END)
        return out
    for start in range(0, size, chunk):
        piece = body[start:start + chunk]
        out += (_FRAME.pack(_BODY, channel_id, len(piece)), piece, _END)
    return out
