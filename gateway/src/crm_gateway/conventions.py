"""HTTP conventions shared by every route: lists, creation, ETags, strict argument parsing."""
from __future__ import annotations

from flask import request, url_for
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest.arguments import ArgumentsMixin
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from webargs.flaskparser import FlaskParser

from crm_common.errors import ServiceError


class StrictParser(FlaskParser):
    """Unknown query parameters and body fields are refused (422), never silently ignored; JSON text
    that is not valid Unicode (lone surrogates such as "\\ud800") or holds NUL characters is malformed
    (400): no database stores either."""

    DEFAULT_UNKNOWN_BY_LOCATION = {"query": RAISE, "querystring": RAISE, "json": RAISE, "form": RAISE,
                                   "json_or_form": RAISE, "headers": None, "cookies": None, "files": RAISE,
                                   "view_args": RAISE}

    def _raw_load_json(self, req):
        data = super()._raw_load_json(req)
        if not _valid_unicode(data):
            raise ServiceError("bad_request", "the body contains text that is not valid Unicode or holds NUL")
        return data


def valid_text(value) -> bool:
    """No lone surrogates and no NUL characters anywhere in a parsed value."""
    return _valid_unicode(value)


def _valid_unicode(value) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return "\x00" not in value
    if isinstance(value, dict):
        return all(_valid_unicode(k) and _valid_unicode(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_valid_unicode(v) for v in value)
    return True


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = StrictParser()


class ListArgs(Schema):
    """Base of every list's query: subclass it, add the filters, set SORTABLE."""

    class Meta:
        unknown = RAISE

    SORTABLE: tuple[str, ...] = ("created_at",)

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None)
    sort = fields.String(load_default="-created_at")
    q = fields.String(load_default=None, validate=validate.Length(max=200))

    def validate_sort(self, data):
        sort = data.get("sort") or ""
        key = sort[1:] if sort.startswith("-") else sort
        if key not in self.SORTABLE:
            raise ValidationError({"sort": [f"sort by one of: {', '.join(self.SORTABLE)} (prefix - for descending)"]})

    def load(self, data, **kwargs):
        result = super().load(data, **kwargs)
        self.validate_sort(result)
        return result


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
