"""JSON text of plain data (dicts, lists, strings, numbers, booleans, None), the text `json.dumps` writes, from
encoders built once: `json.dumps` with its defaults builds a C encoder for every call, and with any other
argument (`separators`) a `JSONEncoder` too, several microseconds per call on the hot paths that write many
small documents (the outbox's envelopes, the automation run log's rows). No circular-reference check: a
structure that contains itself raises RecursionError instead of ValueError."""
from __future__ import annotations

import json
from json.encoder import c_make_encoder, encode_basestring_ascii


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
compact = _encoder(",", ":")  # json.dumps(value, separators=(",", ":"))
