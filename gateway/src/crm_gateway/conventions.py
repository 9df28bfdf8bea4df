"""HTTP conventions shared by every route: lists, creation, ETags, strict argument parsing."""
from __future__ import annotations

from flask import request, url_for
from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import RAISE, Schema, fields, validate
from webargs.flaskparser import FlaskParser
from werkzeug.routing import UUIDConverter

from crm_common.contracts.fields import CURSOR_RULE, Sort
from crm_common.errors import ServiceError
from crm_gateway.auth import handler_of
from crm_gateway.openapi import refusal_response


class IdConverter(UUIDConverter):
    """`<id:record_id>`: a record id in a path -- a UUID, handed to the view as its lower-case text
    (what the services store), documented as `format: uuid`; anything else is no route (404)."""

    def to_python(self, value: str) -> str:
        return value.lower()

    def to_url(self, value) -> str:
        return str(value)


def id_converter_schema(converter) -> dict:
    return {"type": "string", "format": "uuid"}


TEXT_ERROR = "text must be valid Unicode without NUL characters"


class StrictParser(FlaskParser):
    """Unknown query parameters and body fields are refused (422), never silently ignored; so is
    JSON text that is not valid Unicode (lone surrogates such as "\\ud800") or holds NUL characters
    (422, naming the field): no database stores either."""

    DEFAULT_UNKNOWN_BY_LOCATION = {"query": RAISE, "querystring": RAISE, "json": RAISE, "form": RAISE,
                                   "json_or_form": RAISE, "headers": None, "cookies": None, "files": RAISE,
                                   "view_args": RAISE}

    def _raw_load_json(self, req):
        data = super()._raw_load_json(req)
        bad = invalid_text_paths(data)
        if bad:
            raise ServiceError("validation_failed", "the body holds text that is not valid Unicode or holds NUL",
                               errors={"json": {path or "$": [TEXT_ERROR] for path in bad}})
        return data


def requires_json_body(view, method: str) -> bool:
    """Whether the handler declares a required JSON body (`@blp.arguments(Schema)`, the default)."""
    parameters = getattr(handler_of(view, method), "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return any(p.get("in") == "json" and p.get("required", True) for p in parameters)


def has_body() -> bool:
    return bool(request.content_length or request.headers.get("Transfer-Encoding"))


def valid_text(value) -> bool:
    """No lone surrogates and no NUL characters anywhere in a parsed value."""
    return not invalid_text_paths(value)


def invalid_text_paths(value, path: str = "") -> list[str]:
    """The dotted paths (keys and list indexes) of every string in `value` that no database could store."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return [path]
        return [path] if "\x00" in value else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            found += [where] if invalid_text_paths(key) else invalid_text_paths(item, where)
        return found
    if isinstance(value, (list, tuple)):
        return [p for i, item in enumerate(value) for p in invalid_text_paths(item, f"{path}.{i}" if path else str(i))]
    return []


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = StrictParser()

    def arguments(self, schema, *args, **kwargs):
        """flask-smorest's, and an input with RULES lists its 422 as "refused by a rule" (openapi.py)."""
        decorator = super().arguments(schema, *args, **kwargs)
        refusal = refusal_response(schema)
        if refusal is None:
            return decorator

        def documented(func):
            view = decorator(func)
            view._apidoc["arguments"]["responses"][422] = refusal
            return view
        return documented


class ListArgs(Schema):
    """Base of every list's query: subclass it, add the filters, set SORTABLE."""

    class Meta:
        unknown = RAISE

    SORTABLE: tuple[str, ...] = ("created_at",)
    RULES = (CURSOR_RULE,)

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, metadata={"description": CURSOR_RULE})
    sort = Sort(load_default="-created_at", metadata={"description": "a field of the list, - first for descending"})
    q = fields.String(load_default=None, validate=validate.Length(max=200))


class PageSchema(Schema):
    next_cursor = fields.String(allow_none=True)


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """The `{"items": [...], "next_cursor": ...}` envelope of a list, for OpenAPI and dumping."""
    return type(name, (PageSchema,), {"items": fields.List(fields.Nested(item_schema), required=True)})


def etag_of(resource: dict) -> str | None:
    version = resource.get("version") if isinstance(resource, dict) else None
    return f'"{version}"' if version is not None else None


def if_match_version() -> int | None:
    """The version a PATCH/DELETE expects (If-Match), or None when the client sent none."""
    raw = request.headers.get("If-Match")
    if not raw:
        return None
    raw = raw.strip()
    if raw.startswith("W/"):
        raw = raw[2:]
    raw = raw.strip('"')
    if raw == "*":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ServiceError("precondition_failed", "If-Match does not name a version of this resource") from None


def with_etag(resource: dict, status: int = 200, headers: dict | None = None):
    headers = dict(headers or {})
    tag = etag_of(resource)
    if tag:
        headers["ETag"] = tag
    return resource, status, headers


def created(resource: dict, endpoint: str, **values):
    """201 with the resource, its Location and ETag."""
    headers = {"Location": url_for(endpoint, **values)}
    return with_etag(resource, 201, headers)
