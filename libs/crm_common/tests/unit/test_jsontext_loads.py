"""jsontext.loads reads the value json.loads reads, by orjson where that is the same: ints beyond 64 bits (orjson
would give a float), NaN and the infinities, lone surrogates, floats of every size, text beyond ASCII, nesting, and
json's own errors for text that is no JSON."""
from __future__ import annotations

import json
import random
import struct

import pytest

from crm_common import jsontext

TEXTS = [
    '{"id": "lead-1", "company": "Caf\\u00e9 \\"Q\\"", "n": 3, "rating": 4.5, "none": null, "yes": true}',
    '{"big":1180591620717411303424,"small":-9223372036854775809,"edge":9223372036854775807}',
    '[18446744073709551616, 1.8446744073709552e+19, 12345678901234567890123]',
    '{"nan": NaN, "inf": Infinity, "minus": -Infinity}',
    '"\\ud800"', '"\\udc00 alone"', '"\u00e9\u4e2d\U0001f600"', '{"a": {"b": [1, [2, {"c": []}]]}}',
    '{"a": 1, "a": 2}', '1e400', '-0.0', '0.1', '5e-324', '123456789012345678', '"12345678901234567890"', '[]', '{}',
]


@pytest.mark.parametrize("text", TEXTS)
def test_loads_reads_what_json_reads(text):
    got, expected = jsontext.loads(text), json.loads(text)
    assert repr(got) == repr(expected)  # NaN too (NaN != NaN), and an int stays an int


def test_loads_reads_every_float_as_json_does():
    rng = random.Random(7)
    for _ in range(20000):
        value = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        if value != value or value in (float("inf"), float("-inf")):  # repr gives "nan", "inf": no JSON
            continue
        for text in (repr(value), "%.17g" % value, "%.20e" % value):
            got = jsontext.loads(text)
            expected = json.loads(text)
            assert repr(got) == repr(expected), text


@pytest.mark.parametrize("text", ["", "{", "[1,]", "nul", "{'a': 1}"])
def test_loads_refuses_what_json_refuses(text):
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):  # json.JSONDecodeError, as json.loads raises it
        jsontext.loads(text)
