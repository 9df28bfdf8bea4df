"""JSON text of plain data (dicts, lists, strings, numbers, booleans, None), the text `json.dumps` writes, from
encoders built once: `json.dumps` with its defaults builds a C encoder for every call, and with any other
argument (`separators`) a `JSONEncoder` too, several microseconds per call on paths that write many small
documents. No circular-reference check: a structure that contains itself raises RecursionError instead of
ValueError.

`utf8(value, default)`: the UTF-8 bytes of `json.dumps(value, ensure_ascii=False, separators=(",", ":"),
default=default)` -- a list's RPC reply, the gateway's answers; `text(value)` the same as a string: the outbox's
envelopes, the automation run log's rows -- written by orjson, with json's own rules where
orjson would write other text: a datetime, a dataclass and (beyond the ones orjson takes as they are) any
other type go to `default`, a key that is not a string is written as json writes it, an int beyond 64 bits or
anything else orjson refuses is written by json. What still differs: a float json writes with an exponent
(`1e+16`, orjson `1e16`: the same number) and NaN or an infinity (json's `NaN` is not JSON; orjson writes
`null`).

`loads(text)`: the value `json.loads` reads, by orjson where that is the same value."""
from __future__ import annotations

import json
from json.encoder import c_make_encoder, encode_basestring_ascii

import orjson


def _default(value):
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def _encoder(item_separator: str, key_separator: str):
    if c_make_encoder is None:  # a Python without the C accelerator: json's own
        separators = (item_separator, key_separator)
        return lambda value: json.dumps(value, separators=separators)
    encode = c_make_encoder(None, _default, encode_basestring_ascii, None, key_separator, item_separator,
                            False, False, True)

    def dumps(value) -> str:
        if isinstance(value, str):  # the C encoder's one-shot form takes containers and scalars alike
            return encode_basestring_ascii(value)
        return "".join(encode(value, 0))
    return dumps


dumps = _encoder(", ", ": ")  # json.dumps(value)


_UTF8_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def utf8(value, default=_default) -> bytes:
    """`json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=default).encode()` (see the module
    doc for the two cases where the text differs)."""
    try:
        return orjson.dumps(value, default=default, option=_UTF8_OPTIONS)
    except orjson.JSONEncodeError:  # json's own answer: its text, or its error
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=default).encode()


def text(value) -> str:
    """`utf8(value)` as text, for JSON that is stored or sent as a string (the outbox's envelopes, the automation
    run log's rows): the value `json.dumps` would give back, characters beyond ASCII as themselves rather than
    escaped. What orjson refuses is written by json as ASCII (a lone surrogate escaped, as before: its text
    encodes to UTF-8 whatever it holds); what is not plain data is refused with TypeError (a datetime, a Decimal,
    a set), as `dumps` refuses it, except what orjson writes as it is (a UUID as its text, an enum as its value)."""
    try:
        return orjson.dumps(value, default=_default, option=_UTF8_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"), default=_default)


def loads(text: str | bytes):
    """`json.loads(text)` (a str, or UTF-8 bytes: a service's answer the gateway reads for its id and version), by
    orjson where it reads the same value: orjson reads an int beyond 64 bits as a float, so a value holding any
    float is read again by json (a float is read alike by both), and what orjson refuses (NaN, an infinity, a lone
    surrogate) is read by json."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:  # json reads what JSON has no text for (NaN, Infinity) and lone surrogates
        return json.loads(text)
    return json.loads(text) if _holds_float(value) else value


def _holds_float(value) -> bool:
    kind = type(value)
    if kind is dict:
        items = value.values()
    elif kind is list:
        items = value
    else:
        return kind is float
    for item in items:
        kind = type(item)
        if kind is float or ((kind is dict or kind is list) and _holds_float(item)):
            return True
    return False
