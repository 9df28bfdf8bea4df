"""jsontext.utf8 writes the bytes json.dumps(..., ensure_ascii=False, separators=(",", ":"), default=...) writes
(a list's RPC reply, the gateway's answers), by orjson: strings of every kind, numbers, nesting, keys that are
not strings, values only `default` knows, ints beyond 64 bits, and json's errors."""
from __future__ import annotations

import dataclasses
import enum
import json
import uuid
from collections import OrderedDict
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from crm_common import jsontext
from crm_common.rpc import _as_text


class Text(str):
    pass


class Level(enum.IntEnum):
    HIGH = 3


@dataclasses.dataclass
class Point:
    x: int


VALUES = [
    None, True, False, 0, -1, 2**63 - 1, -(2**63), 2**64, -(2**70), 1.5, 0.1, -0.0, 123456789.125, 1e15,
    "", "plain", "é ü ß 中文 🎉", 'quote " backslash \\ slash /', "\n\r\t\b\f \x00 \x1f \x7f \u2028 \u2029",
    Text("a str subclass"), Level.HIGH, [], {}, (1, "two"), [[[]]], {"nested": {"list": [1, {"k": None}]}},
    OrderedDict([("b", 1), ("a", 2)]), {1: "int key", True: "bool key", None: "none key", 2.5: "float key"},
    {"id": uuid.UUID("6f1c3a52-8d2e-4f4b-9a57-0c1e2d3b4a59")},
    {"when": datetime(2026, 12, 6, 2, 13, 11, 123456, tzinfo=timezone.utc), "day": date(2026, 12, 6),
     "at": time(9, 30), "naive": datetime(2026, 1, 1), "offset": datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2)))},
    {"amount": Decimal("12.50"), "big": Decimal("1E+3")},
    {"items": [{"id": str(n), "score": n, "tags": ["a", "b"], "custom_fields": {}} for n in range(50)],
     "next_cursor": None},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
@pytest.mark.parametrize("default", [_as_text, str], ids=["as_text", "str"])
def test_utf8_writes_what_json_writes(value, default):
    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=default).encode()
    assert jsontext.utf8(value, default) == expected


@pytest.mark.parametrize("value", [{"point": Point(1)}, {"set": {1}}, {"bytes": b"x"}, object()], ids=range(4))
def test_utf8_refuses_what_json_refuses(value):
    with pytest.raises(TypeError):
        json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_as_text)
    with pytest.raises(TypeError):
        jsontext.utf8(value, _as_text)


def test_a_dataclass_goes_to_default_as_with_json():
    value = {"point": Point(1)}
    assert jsontext.utf8(value, str) == json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                                                  default=str).encode()


def test_a_float_json_writes_with_an_exponent_is_the_same_number():
    for value in (1e16, 1.5e-7, 1e300):
        assert json.loads(jsontext.utf8([value])) == [value]


PLAIN = [value for value in VALUES if not isinstance(value, (dict, list)) or "when" not in value and "amount" not in value
         and "id" not in value]


@pytest.mark.parametrize("value", PLAIN, ids=range(len(PLAIN)))
def test_text_is_the_compact_json_of_plain_data(value):
    """jsontext.text (the outbox's envelopes, the automation run log's rows): json.dumps's compact text with
    characters beyond ASCII as themselves, a str."""
    written = jsontext.text(value)
    assert written.__class__ is str
    assert written == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert json.loads(written) == json.loads(json.dumps(value))


@pytest.mark.parametrize("value", [{"when": datetime(2026, 1, 1)}, {"amount": Decimal("1")}, {"set": {1}},
                                   {"point": Point(1)}, object()], ids=range(5))
def test_text_refuses_what_is_not_plain_data_as_json_does(value):
    with pytest.raises(TypeError):
        json.dumps(value)
    with pytest.raises(TypeError):
        jsontext.text(value)


def test_text_writes_a_uuid_as_its_text():
    """Where json refuses: orjson writes a UUID as it is."""
    value = uuid.UUID("6f1c3a52-8d2e-4f4b-9a57-0c1e2d3b4a59")
    assert jsontext.text({"id": value}) == '{"id":"6f1c3a52-8d2e-4f4b-9a57-0c1e2d3b4a59"}'


def test_text_writes_what_orjson_refuses_as_jsons_ascii():
    """A lone surrogate (orjson refuses it) escaped as json writes it: text that encodes to UTF-8 and reads back the
    same; an int beyond 64 bits as json writes it."""
    value = {"odd": "a\ud800b", "big": 2**70}
    written = jsontext.text(value)
    assert written == json.dumps(value, separators=(",", ":")) and written.encode() == written.encode("ascii")
    assert json.loads(written) == value


def test_loads_reads_a_services_answer_as_bytes_and_what_orjson_refuses_as_json_reads_it():
    """The gateway reads a service's answer (UTF-8 bytes) for its id and version, passing the text on as it is."""
    assert jsontext.loads(b'{"id":"a","version":3,"name":"\xc3\xa9"}') == {"id": "a", "version": 3, "name": "\u00e9"}
    assert jsontext.loads(b'{"id":"a","big":1e400}') == json.loads('{"id":"a","big":1e400}')
    assert jsontext.loads(b'{"id":"a","n":123456789012345678901234567890}')["n"] == 123456789012345678901234567890
