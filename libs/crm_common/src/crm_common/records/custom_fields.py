"""Custom fields: definitions an administrator makes per resource, and the values a record carries.

A service that owns records puts `install(metadata)` in its models (the definitions table) and a JSON
`custom_fields` column on each record; its domain calls `values_for_create` / `merged` on write
(422 naming `custom_fields.<name>`), and `filters` / `sort_key` on lists (`?custom.<name>=`,
`sort=custom.<name>`). Adding a field needs no migration and no restart: definitions are read per request, or,
in a service that installs `crm_common.generations`, kept per process until a definition changes.
The values are plain JSON: text, choice, user, url, email and date as strings, number as an integer,
decimal as a decimal string, boolean as true/false, multi_choice as a list of strings.
"""
from __future__ import annotations

import functools
import re
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import (JSON, Boolean, Column, Float, Integer, MetaData, String, Table, and_, bindparam, cast,
                        exists, func, literal_column, select)
from sqlalchemy.dialects.postgresql import JSONB

from crm_common import generations
from crm_common.errors import validation
from crm_common.types import UTCDateTime

TABLE = "custom_field_definitions"
TYPES = ("text", "number", "decimal", "date", "boolean", "choice", "multi_choice", "user", "url", "email")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
UNIQUE_TYPES = ("text", "number", "decimal", "date", "user", "url", "email", "choice")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAX_TEXT = 2000


def install(metadata: MetaData) -> Table:
    """The definitions table on a service's metadata (call from models.py; migrations pick it up)."""
    if TABLE in metadata.tables:
        return metadata.tables[TABLE]
    return Table(
        TABLE, metadata,
        Column("id", String(36), primary_key=True),
        Column("resource", String(40), nullable=False, index=True),
        Column("name", String(40), nullable=False),
        Column("label", String(200), nullable=False),
        Column("type", String(20), nullable=False),
        Column("required", Boolean, nullable=False, default=False),
        Column("default", JSON, nullable=True),
        Column("unique", Boolean, nullable=False, default=False),
        Column("choices", JSON, nullable=False),
        Column("version", Integer, nullable=False, default=1),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
        Column("deleted_at", UTCDateTime(), nullable=True),
    )


@functools.lru_cache(maxsize=None)
def _live(table: Table):
    return (select(table).where(table.c.resource == bindparam("resource"), table.c.deleted_at.is_(None))
            .order_by(table.c.created_at))


def definitions(session, metadata: MetaData, resource: str) -> dict[str, dict]:
    """The live definitions of a resource by name (a new field is seen by the next transaction: read per
    request, or kept per generation token where the service installs crm_common.generations)."""
    table = install(metadata)

    def load() -> tuple:
        rows = session.execute(_live(table), {"resource": resource}).mappings().all()
        return tuple((row["name"], dict(row)) for row in rows)
    pairs = generations.cached(session, metadata, f"{TABLE}:{resource}", load) if generations.installed(metadata) \
        else load()
    return {name: dict(row) for name, row in pairs}


# -- values -------------------------------------------------------------------------------------------

def coerce(definition: dict, value, *, from_text: bool = False):
    """The stored form of `value` for a field of this definition; ValueError (a message) when invalid.
    `from_text`: the value came from a query string (numbers and booleans as text)."""
    kind = definition["type"]
    if value is None:
        return None
    if kind in ("text", "url", "email", "user", "choice", "date") and not isinstance(value, str):
        raise ValueError("a string is expected")
    if kind == "text":
        if len(value) > MAX_TEXT:
            raise ValueError(f"at most {MAX_TEXT} characters")
        return value
    if kind == "email":
        value = value.strip().lower()
        if not _EMAIL.match(value) or len(value) > 254:
            raise ValueError("not an email address")
        return value
    if kind == "url":
        if not _URL.match(value) or len(value) > 2000:
            raise ValueError("not an http(s) URL")
        return value
    if kind == "user":
        if not _UUID.match(value.lower()):
            raise ValueError("not a user id")
        return value.lower()
    if kind == "date":
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValueError("a date as YYYY-MM-DD") from None
    if kind == "choice":
        if value not in definition["choices"]:
            raise ValueError(f"one of: {', '.join(definition['choices'])}")
        return value
    if kind == "multi_choice":
        items = [value] if from_text and isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ValueError("a list of choices")
        wrong = [item for item in items if item not in definition["choices"]]
        if wrong:
            raise ValueError(f"each one of: {', '.join(definition['choices'])}")
        return list(dict.fromkeys(items))
    if kind == "boolean":
        if from_text and isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise ValueError("true or false")
        return value
    if kind == "number":
        if from_text and isinstance(value, str) and re.fullmatch(r"-?\d{1,15}", value):
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 10 ** 15:
            raise ValueError("a whole number")
        return value
    if kind == "decimal":
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValueError("a decimal string such as \"12.50\"")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError("a decimal string such as \"12.50\"") from None
        if not number.is_finite() or abs(number) >= Decimal(10) ** 15:
            raise ValueError("a decimal string such as \"12.50\"")
        return str(number)
    raise ValueError("unknown field type")


def _check_values(defs: dict[str, dict], values, errors: dict) -> dict:
    if values is None:
        return {}
    if not isinstance(values, dict):
        errors["custom_fields"] = ["an object of custom field names to values"]
        return {}
    clean = {}
    for name, value in values.items():
        definition = defs.get(name)
        if definition is None:
            errors[f"custom_fields.{name}"] = ["no such custom field"]
            continue
        try:
            clean[name] = coerce(definition, value)
        except ValueError as exc:
            errors[f"custom_fields.{name}"] = [str(exc)]
    return clean


def values_for_create(session, metadata: MetaData, resource: str, values, model=None) -> dict:
    """A new record's custom values: validated, defaults filled, required and unique checked (422)."""
    defs = definitions(session, metadata, resource)
    errors: dict = {}
    clean = _check_values(defs, values, errors)
    for name, definition in defs.items():
        if clean.get(name) is None and definition["default"] is not None:
            clean[name] = definition["default"]
        if definition["required"] and clean.get(name) in (None, "", []):
            errors.setdefault(f"custom_fields.{name}", ["required"])
    if model is not None:
        _check_unique(session, model, defs, clean, None, errors)
    if errors:
        raise validation(errors)
    return {name: value for name, value in clean.items() if value is not None}


def merged(session, metadata: MetaData, resource: str, record, values, model=None) -> dict:
    """`record.custom_fields` with `values` (a partial object: null clears a field) merged in, not yet set on
    the record; 422 for a bad value or a required field cleared."""
    defs = definitions(session, metadata, resource)
    errors: dict = {}
    clean = _check_values(defs, values, errors)
    for name, value in clean.items():
        if value in (None, "", []) and defs[name]["required"]:
            errors[f"custom_fields.{name}"] = ["required"]
    if model is not None:
        _check_unique(session, model, defs, clean, record.id, errors)
    if errors:
        raise validation(errors)
    current = dict(record.custom_fields or {})
    for name, value in clean.items():
        if value is None:
            current.pop(name, None)
        else:
            current[name] = value
    return current


# -- imports ------------------------------------------------------------------------------------------

IMPORT_PREFIX = "custom."


def import_column(name: str) -> str | None:
    """The field name of an import column `custom.<name>` (None for another column)."""
    if isinstance(name, str) and name.startswith(IMPORT_PREFIX) and NAME.match(name[len(IMPORT_PREFIX):]):
        return name[len(IMPORT_PREFIX):]
    return None


def unknown_import_columns(defs: dict, names) -> dict:
    """422 errors of `custom.<name>` columns naming no live field of the resource ({} when all are known)."""
    return {name: ["no such custom field"] for name in names
            if import_column(name) is not None and import_column(name) not in defs}


def imported(defs: dict, values: dict) -> dict:
    """One imported row's custom values (`values`: {name: value} of its `custom.<name>` columns, text as a CSV
    holds it: numbers and booleans as text, a multi_choice's choices separated by ";", empty: no value), checked,
    defaults filled, required fields present; 422 naming `custom.<name>`. Uniqueness is the caller's (it needs
    the database and the rows before)."""
    errors: dict = {}
    clean: dict = {}
    for name, value in values.items():
        definition = defs.get(name)
        if definition is None:
            errors[f"{IMPORT_PREFIX}{name}"] = ["no such custom field"]
            continue
        if isinstance(value, str):
            value = value.strip() or None
            if value is not None and definition["type"] == "multi_choice":
                value = [item.strip() for item in value.split(";") if item.strip()]
        try:
            clean[name] = coerce(definition, value, from_text=True)
        except ValueError as exc:
            errors[f"{IMPORT_PREFIX}{name}"] = [str(exc)]
    for name, definition in defs.items():
        if clean.get(name) is None and definition["default"] is not None:
            clean[name] = definition["default"]
        if definition["required"] and clean.get(name) in (None, "", []):
            errors.setdefault(f"{IMPORT_PREFIX}{name}", ["required"])
    if errors:
        raise validation(errors)
    return {name: value for name, value in clean.items() if value is not None}


def duplicated_unique(session, model, defs: dict, clean: dict, seen: dict) -> dict:
    """422 errors of an imported row's unique values already on a record or on an earlier row of the import
    (`seen`: {name: set of values}, updated with this row's values when it is clean)."""
    errors: dict = {}
    unique = {name: value for name, value in clean.items() if defs.get(name, {}).get("unique")}
    if not unique:
        return errors
    for name, value in unique.items():
        if repr(value) in seen.get(name, ()):
            errors[f"{IMPORT_PREFIX}{name}"] = ["an earlier row has this value"]
    found: dict = {}
    _check_unique(session, model, defs, unique, None, found)
    errors.update({f"{IMPORT_PREFIX}{key[len('custom_fields.'):]}": value for key, value in found.items()})
    if not errors:
        for name, value in unique.items():
            seen.setdefault(name, set()).add(repr(value))
    return errors


def _check_unique(session, model, defs, clean, record_id, errors) -> None:
    for name, value in clean.items():
        definition = defs[name]
        if not definition["unique"] or value is None or f"custom_fields.{name}" in errors:
            continue
        query = select(model.id).where(_equals(session, model, definition, value))
        if hasattr(model, "deleted_at"):
            query = query.where(model.deleted_at.is_(None))
        if record_id is not None:
            query = query.where(model.id != record_id)
        if session.execute(query.limit(1)).first() is not None:
            errors[f"custom_fields.{name}"] = ["another record has this value"]


# -- lists --------------------------------------------------------------------------------------------

def _dialect(session) -> str:
    return session.get_bind().dialect.name


def _accessor(model, definition: dict):
    element = model.custom_fields[definition["name"]]
    kind = definition["type"]
    if kind == "number":
        return element.as_integer()
    if kind == "decimal":
        return cast(element.as_string(), Float)
    if kind == "boolean":
        return element.as_boolean()
    return element.as_string()


def json_contains(session, list_expr, value: str):
    """Whether the JSON list `list_expr` (a JSON column, or an element of one) holds the string `value`."""
    if _dialect(session) == "postgresql":
        return cast(list_expr, JSONB).contains([value])
    items = func.json_each(list_expr).table_valued("value")
    return exists(select(literal_column("1")).select_from(items).where(items.c.value == value))


def _equals(session, model, definition: dict, value):
    if definition["type"] == "multi_choice":
        return and_(*[json_contains(session, model.custom_fields[definition["name"]], item) for item in value])
    if definition["type"] == "decimal":
        return _accessor(model, definition) == float(value)
    return _accessor(model, definition) == value


def filters(session, metadata: MetaData, resource: str, model, custom: dict) -> list:
    """The WHERE conditions of `?custom.<name>=value` (422 naming `custom.<name>` for an unknown field or a
    value of the wrong type)."""
    if not custom:
        return []
    defs = definitions(session, metadata, resource)
    errors, conditions = {}, []
    for name, text in custom.items():
        definition = defs.get(name)
        if definition is None:
            errors[f"custom.{name}"] = ["no such custom field"]
            continue
        try:
            value = coerce(definition, text, from_text=True)
        except ValueError as exc:
            errors[f"custom.{name}"] = [str(exc)]
            continue
        conditions.append(_equals(session, model, definition, value))
    if errors:
        raise validation(errors)
    return conditions


def sort_expression(session, metadata: MetaData, resource: str, model, sort: str):
    """(expression, descending) of `sort=custom.<name>` / `-custom.<name>`, or None for another sort."""
    key = sort.lstrip("-")
    if not key.startswith("custom."):
        return None
    definition = definitions(session, metadata, resource).get(key[len("custom."):])
    if definition is None or definition["type"] == "multi_choice":
        raise validation({"sort": [f"no sortable custom field {key[len('custom.'):]!r}"]})
    return _accessor(model, definition), sort.startswith("-")

