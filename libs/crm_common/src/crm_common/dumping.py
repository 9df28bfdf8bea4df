"""`dump(schema, obj, many)`: what `schema.dump(obj, many=many)` returns, for less of the CPU.

marshmallow spends most of a dump on its generic path, not on the values: for every field of every
record it goes through Field.serialize, Field.get_value, Schema.get_attribute, utils.get_value and
_get_value_for_key before the field's own `_serialize` (a page of 50 leads is 1,500 such trips: a
third of the sales service's CPU for the list). Here a schema instance gets, once, a plan of its dump
fields, and a dump reads each value directly and calls the field's own `_serialize` -- the same
values, defaults, data keys and missing-attribute rules as marshmallow 3's `Schema._serialize`:

- a schema with pre/post-dump hooks, its own `get_attribute`, or a field that overrides `serialize` or
  `get_value`, is dumped by marshmallow itself (so is a dotted `attribute`);
- a plain `String` passes a `str` through (marshmallow's `ensure_text_type` returns it unchanged), a
  `Timestamp` formats a datetime with `rfc3339` (what its `_serialize` does);
- a plain `Nested` (and a plain `List` of one) dumps its schema with a plan of its own.

tests/unit/test_dumping.py compares the two over every output schema of the registered contracts.
"""
from __future__ import annotations

from datetime import datetime, timezone

from marshmallow import Schema, fields
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from marshmallow.utils import get_value, missing

from crm_common.contracts.fields import Timestamp
from crm_common.contracts.records import TagList
from crm_common.envelope import rfc3339

_PLAIN_GET = fields.Field.get_value
_PLAIN_SERIALIZE = fields.Field.serialize
_PLAIN_ATTRIBUTE = Schema.get_attribute

# how a field's value becomes its dumped value
_GENERIC, _STRING, _OWN, _NESTED, _LIST_OF_NESTED, _TIMESTAMP = range(6)


def dump(schema: Schema, obj, many: bool | None = None):
    many = schema.many if many is None else bool(many)
    plan = _plan(schema)
    if plan is None:
        return schema.dump(obj, many=many)
    if many and obj is not None:
        return [_dump_one(plan, item) for item in obj]
    return _dump_one(plan, obj)


def _plan(schema: Schema):
    """The schema's fields as (attribute, key read, dumped key, field, kind, nested schema), or None when
    marshmallow must dump it itself. Built once per schema instance."""
    if "_crm_dump_plan" in schema.__dict__:
        return schema.__dict__["_crm_dump_plan"]
    plan = None
    if (not schema._hooks[PRE_DUMP] and not schema._hooks[POST_DUMP]
            and type(schema).get_attribute is _PLAIN_ATTRIBUTE):
        plan = (schema.dict_class, [])
        for attr_name, field in schema.dump_fields.items():
            kind, nested = _kind(field)
            read = attr_name if field.attribute is None else field.attribute
            if "." in read:
                kind = _GENERIC
            plan[1].append((attr_name, read, attr_name if field.data_key is None else field.data_key,
                            field, kind, nested))
        plan = (*plan, _compiled(plan[1]))
    schema.__dict__["_crm_dump_plan"] = plan
    return plan


_ANY_MISSING = object()  # a compiled dump's answer for a dict that lacks a field it reads


def _compiled(entries):
    """For a schema of strings, timestamps and fields that only format (no nested schemas, nothing generic):
    one function dumping a dict that holds every field it reads, in one expression (a plain dict, in the
    fields' order), or _ANY_MISSING for _dump_one to dump it (the rows of paging.paginate_plain)."""
    if not entries or any(kind not in (_STRING, _TIMESTAMP, _OWN) for *_, kind, _ in entries):
        return None
    names = {"_missing": _ANY_MISSING, "_str": str, "_int": int, "_dict": dict, "_list": list,
             "_datetime": datetime, "_utc": timezone.utc, "_rfc3339": rfc3339, "_all_str": _all_str}
    reads, values = [], []
    for n, (attr_name, read, key, field, kind, _) in enumerate(entries):
        names[f"f{n}"] = field
        reads.append(f"        v{n} = obj[{read!r}]")
        own = f"f{n}._serialize(v{n}, {attr_name!r}, obj)"
        if kind == _STRING:
            value = f"v{n} if v{n} is None or v{n}.__class__ is _str else {own}"
        elif kind == _TIMESTAMP:  # rfc3339 of a value in UTC (naive: taken as UTC), inline
            value = (f"(v{n}.isoformat(timespec='microseconds')[:-6] + 'Z' if v{n}.tzinfo is _utc else "
                     f"v{n}.isoformat(timespec='microseconds') + 'Z' if v{n}.tzinfo is None else _rfc3339(v{n})) "
                     f"if v{n}.__class__ is _datetime else {own}")
        else:
            value = _as_is(field, f"v{n}", own)
        values.append(f"        {key!r}: {value},")
    source = "\n".join(["def dump_dict(obj):", "    try:", *reads, "    except KeyError:", "        return _missing",
                         "    return {", *values, "    }"])
    exec(compile(source, "<crm_common.dumping>", "exec"), names)  # noqa: S102 - built from the schema's own names
    return names["dump_dict"]


def _as_is(field: fields.Field, v: str, own: str) -> str:
    """The compiled dump of a field whose `_serialize` gives back a value of the usual kind unchanged (or a
    copy): an int of a plain Integer, a dict with string keys of a plain Dict of strings to raw values
    (`CustomValues`), a list of strings of a List of strings (`Tags`); any other value by the field itself."""
    cls = type(field)
    if cls is fields.Integer and not field.as_string:
        return f"{v} if {v}.__class__ is _int else {own}"
    if (cls is fields.Dict and field.mapping_type is dict and _keeps_strings(field.key_field)
            and (field.value_field is None or type(field.value_field) is fields.Raw)):
        return f"{v}.copy() if {v}.__class__ is _dict and _all_str({v}) else {own}"
    if (cls is fields.List or cls is TagList) and _keeps_strings(field.inner):
        return f"{v}[:] if {v}.__class__ is _list and _all_str({v}) else {own}"
    return own


def _keeps_strings(field) -> bool:
    """A string field whose dump gives a `str` back as it is (marshmallow's String._serialize)."""
    return field is None or (isinstance(field, fields.String) and type(field)._serialize is fields.String._serialize)


def _all_str(values) -> bool:
    for value in values:
        if value.__class__ is not str:
            return False
    return True


def _kind(field: fields.Field):
    cls = type(field)
    if cls.serialize is not _PLAIN_SERIALIZE or cls.get_value is not _PLAIN_GET or not field._CHECK_ATTRIBUTE:
        return _GENERIC, None
    if cls is fields.String:
        return _STRING, None
    if cls is Timestamp:
        return _TIMESTAMP, None
    if cls is fields.Nested:
        return _NESTED, field
    if cls is fields.List and type(field.inner) is fields.Nested:
        return _LIST_OF_NESTED, field.inner
    return _OWN, None


def _nested(field: fields.Nested, value):
    """Nested._serialize, with the nested schema dumped by plan."""
    schema = field.schema
    if value is None:
        return None
    return dump(schema, value, many=schema.many or field.many)


def _dump_one(plan, obj):
    dict_class, entries, compiled = plan
    if compiled is not None and type(obj) is dict:
        result = compiled(obj)
        if result is not _ANY_MISSING:
            return result
    result = dict_class()
    indexable = hasattr(obj, "__getitem__")
    for attr_name, read, key, field, kind, nested in entries:
        if kind == _GENERIC:
            value = field.serialize(attr_name, obj, accessor=get_value)
            if value is not missing:
                result[key] = value
            continue
        if indexable:
            try:
                value = obj[read]
            except (KeyError, IndexError, TypeError, AttributeError):
                value = getattr(obj, read, missing)
        else:
            value = getattr(obj, read, missing)
        if value is missing:
            default = field.dump_default
            value = default() if callable(default) else default
            if value is missing:
                continue
        if kind == _STRING:
            result[key] = value if value is None or type(value) is str else field._serialize(value, attr_name, obj)
        elif kind == _TIMESTAMP:
            result[key] = rfc3339(value) if type(value) is datetime else field._serialize(value, attr_name, obj)
        elif kind == _OWN:
            result[key] = field._serialize(value, attr_name, obj)
        elif kind == _NESTED:
            result[key] = _nested(nested, value)
        elif value is None:  # a List of Nested
            result[key] = None
        else:
            schema = nested.schema
            inner = None if schema.many or nested.many else _plan(schema)
            result[key] = ([None if each is None else _dump_one(inner, each) for each in value] if inner is not None
                           else [_nested(nested, each) for each in value])
    return result
