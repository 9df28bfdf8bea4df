"""crm_common.dumping gives what marshmallow's own dump gives, for every output schema of the contracts."""
from __future__ import annotations

import datetime as dt
import decimal
import uuid
from types import SimpleNamespace

import pytest
from marshmallow import Schema, fields, post_dump

from crm_common import dumping
from crm_common.contracts import load_all
from crm_common.contracts.registry import RPCS

load_all()
OUTPUTS = sorted({(c.output, c.many) for c in RPCS.values() if c.output is not None},
                 key=lambda pair: (pair[0].__module__, pair[0].__qualname__, pair[1]))
CANDIDATES = ("text", 7, dt.datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=dt.timezone.utc), dt.date(2026, 3, 4),
              decimal.Decimal("12.50"), True, {"a": 1}, [1, 2], str(uuid.UUID(int=5)))


def sample(field: fields.Field, depth: int = 0):
    """A value `field` dumps without error (nested records filled in, to a depth)."""
    if isinstance(field, fields.Nested):
        one = record(field.schema, depth + 1, SimpleNamespace) if depth < 3 else None
        return [one, record(field.schema, depth + 1, dict)] if (field.many or field.schema.many) and one else one
    if isinstance(field, fields.List):
        inner = sample(field.inner, depth)
        return [inner, inner] if inner is not None else []
    for value in CANDIDATES:
        try:
            field._serialize(value, "x", None)
            return value
        except Exception:  # noqa: BLE001 - this field takes another kind of value
            continue
    return None


def record(schema: Schema, depth: int, kind):
    values = {name: sample(field, depth) for name, field in schema.dump_fields.items()}
    values = {(schema.dump_fields[n].attribute or n): v for n, v in values.items()}
    return kind(**values) if kind is SimpleNamespace else dict(values)


def variants(schema: Schema):
    yield record(schema, 0, SimpleNamespace)  # an ORM-like object
    yield record(schema, 0, dict)  # a dict, as most domain functions return
    yield {name: None for name in schema.dump_fields}  # every value None
    yield SimpleNamespace()  # every attribute missing: defaults, or left out
    yield {}


@pytest.mark.parametrize("output,many", OUTPUTS, ids=lambda v: getattr(v, "__qualname__", str(v)))
def test_a_plan_dumps_what_marshmallow_dumps(output, many):
    schema = output(many=many)
    for obj in variants(output()):
        assert outcome(dumping.dump, schema, obj, many) == outcome(Schema.dump, schema, obj, many)


def outcome(dump, schema, obj, many):
    """The dump, or the type of error it raised (marshmallow's own errors must stay the same)."""
    try:
        return dump(schema, [obj, obj] if many else obj)
    except Exception as exc:  # noqa: BLE001 - compared
        return type(exc)


def test_hooks_and_dotted_attributes_are_left_to_marshmallow():
    class Hooked(Schema):
        name = fields.String()
        city = fields.String(attribute="address.city")

        @post_dump
        def upper(self, data, **_):
            return {**data, "name": data["name"].upper()}

    obj = {"name": "ann", "address": {"city": "Oslo"}}
    assert dumping.dump(Hooked(), obj) == {"name": "ANN", "city": "Oslo"}

    class Plain(Schema):
        name = fields.String(data_key="Name")
        city = fields.String(attribute="address.city")
        count = fields.Integer(dump_default=3)
        tags = fields.List(fields.Nested(lambda: Plain(only=("name",))))

    obj = {"name": 5, "address": {"city": "Oslo"}, "tags": [{"name": "x", "count": 9}, None]}
    assert dumping.dump(Plain(), obj) == Plain().dump(obj) == {
        "Name": "5", "city": "Oslo", "count": 3, "tags": [{"Name": "x"}, None]}


def test_a_row_of_strings_and_timestamps_is_dumped_by_one_compiled_expression_like_marshmallow():
    from crm_common.contracts.fields import Timestamp

    class Row(Schema):
        class Meta:
            ordered = True
        id = fields.String(data_key="Id")
        n = fields.Integer()
        at = Timestamp()
        when = Timestamp(allow_none=True)
        label = fields.String(allow_none=True)

    schema = Row()
    assert dumping._plan(schema)[2] is not None  # compiled
    naive, aware = dt.datetime(2026, 11, 23, 8, 0, 0, 5), dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    rows = [{"id": "a", "n": 7, "at": naive, "when": None, "label": 5},
            {"id": "b", "n": 1.0, "at": aware, "when": "2026-01-01T00:00:00.000000Z", "label": None, "extra": 1},
            {"id": "c", "at": naive}]  # missing fields: marshmallow's rules (the loop)
    for row in rows:
        assert dumping.dump(schema, row) == schema.dump(row)
    assert list(dumping.dump(schema, rows[0])) == ["Id", "n", "at", "when", "label"]
    assert dumping.dump(schema, rows[0])["at"] == "2026-11-23T08:00:00.000005Z"
    assert dumping.dump(schema, rows[1])["at"] == "2026-11-23T08:00:00.000000Z"


def test_a_row_s_ints_custom_values_and_tags_are_dumped_as_marshmallow_dumps_them_whatever_they_hold():
    from crm_common.contracts.records import CustomValues, Tags

    class Row(Schema):
        class Meta:
            ordered = True
        score = fields.Integer()
        custom_fields = CustomValues(allow_none=True)
        tags = Tags()
        at = fields.DateTime()

    schema = Row()
    assert dumping._plan(schema)[2] is not None  # compiled
    utc = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.timezone.utc)
    rows = [{"score": 7, "custom_fields": {"size": 3, "colour": None}, "tags": ["vip", "eu"], "at": utc},
            {"score": True, "custom_fields": {5: "five"}, "tags": [1, "a"], "at": None},
            {"score": 7.9, "custom_fields": {}, "tags": None, "at": utc.replace(tzinfo=None)},
            {"score": None, "custom_fields": None, "tags": ("a", "b"), "at": utc}]
    for row in rows:
        dumped = dumping.dump(schema, row)
        assert dumped == schema.dump(row)
        assert [type(value) for value in dumped.values()] == [type(value) for value in schema.dump(row).values()]
    first = dumping.dump(schema, rows[0])
    assert first["custom_fields"] is not rows[0]["custom_fields"] and first["tags"] is not rows[0]["tags"]
