"""Field types shared by every context's contracts: JSON values taken exactly as documented.

A JSON body's boolean is `true` or `false` (not 0, 1 or "yes"); money and other exact decimals are
strings ("1250.00"), never floats. Query strings keep marshmallow's lenient Boolean (`?active=true`).
"""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from marshmallow import fields, validate


class Boolean(fields.Boolean):
    """A JSON boolean: only `true` and `false` are accepted."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class Day(fields.Date):
    """A calendar day, `2026-11-23`; a date (or datetime) handed over RPC passes through."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or isinstance(value, str):
            return value
        return value.isoformat()

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        return super()._deserialize(value, attr, data, **kwargs)


class DecimalString(fields.Decimal):
    """An exact decimal sent as a JSON string ("1250.00"), never a float; documented as a string
    with a pattern (the gateway registers the OpenAPI mapping). A Decimal passes through, as the
    gateway hands the service already-loaded values over RPC."""

    def __init__(self, places: int = 2, minimum: Decimal | int | None = None, **kw):
        if minimum is not None:
            kw["validate"] = [validate.Range(min=minimum), *_as_list(kw.get("validate"))]
        self.pattern = rf"^-?[0-9]{{1,15}}(\.[0-9]{{1,{places}}})?$"
        example = "1250." + "0" * places if places else "1250"
        metadata = {"pattern": self.pattern, "example": example, **kw.pop("metadata", {})}
        super().__init__(as_string=True, places=places, allow_nan=False, metadata=metadata, **kw)
        self.error_messages["invalid"] = f'a decimal string with at most {places} decimals, like "{example}"'

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, Decimal) and (not isinstance(value, str) or not re.match(self.pattern, value)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def _as_list(validators) -> list:
    if validators is None:
        return []
    return list(validators) if isinstance(validators, (list, tuple)) else [validators]


class _ListOf(fields.List):
    """A list whose items are all of one JSON type, checked in one pass: marshmallow's List(String()) runs a
    field per item, about 4 microseconds each, which a batch event of a thousand ids pays on every emit."""

    item_type: type = object
    item_field: type = fields.Raw

    def __init__(self, **kwargs):
        super().__init__(self.item_field(), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, (list, tuple)) or not all(isinstance(item, self.item_type) for item in value):
            raise self.make_error("invalid")
        return list(value)


class Strings(_ListOf):
    """A list of strings (see _ListOf)."""

    item_type, item_field = str, fields.String
    default_error_messages = {"invalid": "a list of strings"}


class Records(_ListOf):
    """A list of JSON objects (see _ListOf)."""

    item_type, item_field = dict, fields.Dict
    default_error_messages = {"invalid": "a list of objects"}
