"""Field types shared by every context's contracts: JSON values taken exactly as documented.

A JSON body's boolean is `true` or `false` (not 0, 1 or "yes"); money and other exact decimals are
strings ("1250.00"), never floats. Query strings keep marshmallow's lenient Boolean (`?active=true`).
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal

from marshmallow import ValidationError, fields, validate

from crm_common.envelope import rfc3339


class Boolean(fields.Boolean):
    """A JSON boolean: only `true` and `false` are accepted."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class Timestamp(fields.DateTime):
    """The one timestamp of every route and event: RFC 3339 in UTC with microseconds and a `Z`
    (`2026-11-23T08:00:00.000000Z`). Input may carry any offset (converted to UTC); input without one is
    taken as UTC. A datetime handed over RPC passes through the load, a dumped string through the dump."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or isinstance(value, str):
            return value
        return rfc3339(value)

    def _deserialize(self, value, attr, data, **kwargs):
        result = value if isinstance(value, datetime) else super()._deserialize(value, attr, data, **kwargs)
        if result.tzinfo is None:
            result = result.replace(tzinfo=timezone.utc)
        return result.astimezone(timezone.utc)


class Text(fields.String):
    """A string any database can store: valid Unicode (no lone surrogates), no NUL characters."""

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        try:
            result.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("not valid Unicode text") from None
        if "\x00" in result:
            raise ValidationError("must not contain NUL characters")
        return result


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
    gateway hands the service already-loaded values over RPC.

    The pattern states the field's bounds as well (its `validate.Range`, or `minimum`): a lower bound
    of 0 or of one smallest step above it, an upper bound of a power of ten, which every bound in the
    contracts is. The same pattern is checked here, so the document and the server agree on every
    string; whole parts are written without leading zeros ("7.50", not "007.50")."""

    def __init__(self, places: int = 2, minimum: Decimal | int | None = None, **kw):
        if minimum is not None:
            kw["validate"] = [validate.Range(min=minimum), *_as_list(kw.get("validate"))]
        example = "1250." + "0" * places if places else "1250"
        bounds = _tightest_range(_as_list(kw.get("validate")))
        self.syntax = re.compile(rf"^-?(0|[1-9][0-9]*)(\.[0-9]{{1,{places}}})?$" if places
                                 else r"^-?(0|[1-9][0-9]*)$")
        self.pattern = decimal_pattern(places, *bounds)
        self.bounds_text = _bounds_text(*bounds)
        metadata = {"pattern": self.pattern, "example": example, **kw.pop("metadata", {})}
        if self.bounds_text:
            said = metadata.get("description")
            metadata["description"] = f"{said}; {self.bounds_text}" if said else self.bounds_text
        super().__init__(as_string=True, places=places, allow_nan=False, metadata=metadata, **kw)
        self.error_messages["invalid"] = f'a decimal string with at most {places} decimals, like "{example}"'

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, Decimal):
            if not isinstance(value, str) or not self.syntax.match(value):
                raise self.make_error("invalid")
            if not re.match(self.pattern, value):
                bounds = self.bounds_text or f"of at most {WHOLE_DIGITS} whole digits"
                raise ValidationError(f"must be a decimal string {bounds}")
        return super()._deserialize(value, attr, data, **kwargs)


WHOLE_DIGITS = 15  # Numeric(18, 2) and the like: no stored decimal has a longer whole part
MAX_MONEY = 10 ** 13  # stays inside Numeric(18, 2) after quantities and sums


def Money(minimum=None, **kw):  # noqa: N802 - a field factory
    """An amount of money: a decimal string with cents, below MAX_MONEY (at least `minimum` when given)."""
    return DecimalString(validate=validate.Range(min=minimum, max=MAX_MONEY, max_inclusive=False), **kw)


def Percent(**kw):  # noqa: N802
    return DecimalString(validate=validate.Range(min=0, max=100), **kw)


def _tightest_range(validators) -> tuple:
    """(minimum, minimum_inclusive, maximum, maximum_inclusive) of the Range validators."""
    low, low_inclusive, high, high_inclusive = None, True, None, True
    for rule in validators:
        if isinstance(rule, validate.Range):
            if rule.min is not None and (low is None or Decimal(rule.min) >= low):
                low, low_inclusive = Decimal(rule.min), rule.min_inclusive
            if rule.max is not None and (high is None or Decimal(rule.max) <= high):
                high, high_inclusive = Decimal(rule.max), rule.max_inclusive
    return low, low_inclusive, high, high_inclusive


def decimal_pattern(places: int, low, low_inclusive: bool, high, high_inclusive: bool) -> str:
    """The regular expression of the decimal strings with at most `places` decimals within the bounds.

    Exact for a lower bound of None (any sign), 0, or 0 exclusive / one step (10^-places) inclusive,
    and an upper bound of None (15 whole digits) or 10^n; any other bound is checked by the Range only
    (and said in the field's description)."""
    digits = WHOLE_DIGITS
    top = ""
    if high is not None and high > 0 and high == Decimal(10) ** (len(str(int(high))) - 1):
        digits = len(str(int(high))) - 1
        if high_inclusive:
            top = str(int(high)) + (rf"(\.0{{1,{places}}})?" if places else "")
    whole = rf"(0|[1-9][0-9]{{0,{digits - 1}}})" if digits > 1 else "[0-9]"
    fraction = rf"(\.[0-9]{{1,{places}}})?" if places else ""
    step = Decimal(1).scaleb(-places)
    if low is not None and ((low == 0 and not low_inclusive) or (low == step and low_inclusive)):
        nonzero = "|".join(f"0{{{k}}}[1-9][0-9]{{0,{places - 1 - k}}}".replace("0{0}", "") for k in range(places))
        body = (rf"[1-9][0-9]{{0,{digits - 1}}}{fraction}" if digits > 1 else f"[1-9]{fraction}")
        if places:
            body += rf"|0\.({nonzero})"
    else:
        body = whole + fraction
    sign = "-?" if low is None or low < 0 else ""
    alternatives = f"{body}|{top}" if top else body
    return f"^{sign}({alternatives})$"


def _bounds_text(low, low_inclusive: bool, high, high_inclusive: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"at least {low}" if low_inclusive else f"above {low}")
    if high is not None:
        parts.append(f"at most {high}" if high_inclusive else f"below {high}")
    return " and ".join(parts)


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


CUSTOM_SORT = re.compile(r"^-?custom\.[a-z][a-z0-9_]{0,39}$")


class Sort(fields.String):
    """A list's `sort`: a field of the allow-list, prefixed with `-` for descending. The allow-list is
    the one given here or the schema's SORTABLE; the document lists it as the field's enum."""

    def __init__(self, sortable: tuple[str, ...] = (), **kwargs):
        self.sortable = tuple(sortable)
        super().__init__(**kwargs)

    def keys(self) -> tuple[str, ...]:
        return self.sortable or tuple(getattr(self.parent, "SORTABLE", ()) or ())

    def choices(self) -> list[str]:
        return [choice for key in self.keys() for choice in (key, f"-{key}")]

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if getattr(self.parent, "CUSTOM_SORT", False) and CUSTOM_SORT.match(value):
            return value  # sort=custom.<name>: the owning service checks the field exists (crm_common.records)
        if self.keys() and value not in self.choices():
            raise ValidationError(f"sort by one of: {', '.join(self.keys())} (prefix - for descending)")
        return value

    def openapi_properties(self) -> dict:
        return {"enum": self.choices()} if self.keys() else {}


# -- what a schema states about its fields together (merged into its OpenAPI object by the gateway:
#    a schema's OPENAPI class attribute) ------------------------------------------------------------


def exactly_one_of(**types: str) -> dict:
    """Exactly one of these fields is sent and not null (name=its JSON type)."""
    return {"oneOf": [{"required": [name], "properties": {name: {"type": kind}}} for name, kind in types.items()]}


def at_least_one_of(**types: str) -> dict:
    """At least one of these fields is sent, not null and not empty (name=its JSON type)."""
    return {"anyOf": [{"required": [name], "properties": {name: {"type": kind, **_NOT_EMPTY.get(kind, {})}}}
                      for name, kind in types.items()]}


_NOT_EMPTY = {"string": {"minLength": 1}, "array": {"minItems": 1}}


AT_LEAST_ONE_FIELD = {"minProperties": 1}
CURSOR_RULE = "cursor is the next_cursor of a page this list returned, as given"


def existing(*names: str) -> str:
    """A RULES sentence: these reference fields must name records that exist (and the caller may see)."""
    return f"{', '.join(names)} must name existing records the caller may see (else a 422 or a 404)"
