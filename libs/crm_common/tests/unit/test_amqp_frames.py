"""The publisher's basic.publish frames are the bytes amqp itself would write for the same message."""
from __future__ import annotations

import amqp
import pytest
from amqp.method_framing import frame_writer
from amqp.spec import Basic

from crm_common import amqpframes


class _Connection:
    def __init__(self, frame_max: int):
        self.frame_max, self.bytes_sent = frame_max, 0


class _Transport:
    def __init__(self):
        self.written = b""

    def write(self, data):
        self.written += bytes(data)


def amqp_bytes(frame_max, channel_id, exchange, routing_key, body, headers, message_id, user_id) -> bytes:
    transport = _Transport()
    message = amqp.Message(body, content_type="application/json", content_encoding="utf-8",
                           application_headers=headers, delivery_mode=2, message_id=message_id, user_id=user_id)
    args = amqp.serialization.dumps("Bssbb", (0, exchange, routing_key, False, False))
    frame_writer(_Connection(frame_max), transport)(1, channel_id, Basic.Publish, args, message)
    return transport.written


@pytest.mark.parametrize("headers", [{}, {"nameko.request_id": "req-1"}, {"nameko.request_id": "ünïcode"},
                                     {"nameko.crm_attempt": 2, "nameko.request_id": "r"}])
@pytest.mark.parametrize("size", [0, 10, 4_000, 131_072 - 8 - 200, 300_000])
@pytest.mark.parametrize("ids", [("e-1", "automation"), (None, "automation"), ("e-2", None)])
def test_frames_are_the_bytes_amqp_writes(headers, size, ids):
    message_id, user_id = ids
    body = b'{"x":"' + b"y" * size + b'"}'
    for exchange, key in (("automation.events", "automation.notification_created.v1"), ("", "automation.retry.1")):
        ours = b"".join(amqpframes.publish(3, 131_072, exchange, key, body,
                                           amqpframes.properties(headers, message_id, user_id)))
        assert ours == amqp_bytes(131_072, 3, exchange, key, body, headers, message_id, user_id)


def test_a_short_string_longer_than_amqp_allows_is_refused():
    with pytest.raises(ValueError):
        amqpframes.properties({}, "x" * 256, None)


def test_no_headers_is_an_empty_table_as_amqp_writes_it():
    assert amqpframes.properties(None, "e-1", "automation") == amqpframes.properties({}, "e-1", "automation")
