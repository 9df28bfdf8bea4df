"""HTTP conventions shared by every route: the route table, lists, creation, ETags, strict parsing.

Every context's routes are a table of `Route`s (one line each), built into blueprints by `blueprints()`:

    ROUTES = [
        *resource("leads", c.LIST_LEADS, c.CREATE_LEAD, c.GET_LEAD, c.UPDATE_LEAD, c.DELETE_LEAD),
        Route("POST", "/leads/<id>/convert", c.CONVERT_LEAD),
    ]
    blueprints = build("sales", ROUTES)

A route calls its contract's RPC method: the body (or, for GET, the query) is loaded with the contract's
input schema and forwarded as loaded; `<id>` in the path is the record id (the call's `id`); If-Match on a
PATCH (or, when sent, on a DELETE) of a record is the call's `expected_version`; the answer is the service's output as it came (the service dumped
it with the contract's output schema, which documents it here). Who may call it is declared once -- the
contract's `permission`, or `access=` for the routes a role grant does not govern -- and the app checks it
before anything else (auth.check_permission).
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Callable

from flask import Response, g, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import RAISE, Schema, missing
from webargs.flaskparser import FlaskParser
from werkzeug.routing import BaseConverter, UUIDConverter

from crm_common import jsontext
from crm_common.contracts.registry import RpcContract, instance
from crm_common.contracts.schemas import ListQuery, Page, page  # noqa: F401 - one set of bases, re-exported
from crm_common.errors import ServiceError
from crm_common.rpcclient import RawJson
from crm_gateway.auth import OWN_ACCOUNT, SELF_SERVICE, authenticate, handler_of, public  # noqa: F401 - access=
from crm_gateway.idempotency import kept_by_service, passed_on
from crm_gateway.openapi import refusal_response
from crm_gateway.rpc import call


class IdConverter(UUIDConverter):
    """`<id:record_id>`: a record id in a path -- a UUID, handed to the view as its lower-case text
    (what the services store), documented as `format: uuid`; anything else is no route (404)."""

    def to_python(self, value: str) -> str:
        return value.lower()

    def to_url(self, value) -> str:
        return str(value)


def id_converter_schema(converter) -> dict:
    return {"type": "string", "format": "uuid"}


class ExternalIdConverter(BaseConverter):
    """`<external_id:external_id>`: another system's id in a path, any segment but `bulk` (that segment is the
    bulk form's own route, which must not also answer to the single upsert's methods)."""

    regex = r"(?!bulk(?![^/]))[^/]+"


def external_id_converter_schema(converter) -> dict:
    """Documented as the upserts' contract states it (a `/` cannot travel in one path segment)."""
    from crm_sales_contracts.external_ids import EXTERNAL_ID_PATTERN
    return {"type": "string", "pattern": EXTERNAL_ID_PATTERN.replace("/", ""), "not": {"enum": ["bulk"]}}


class ExternalSystemConverter(BaseConverter):
    """`<external_system:system>`: the name of another system in a path, documented with the pattern its
    contract checks (the service answers 422 naming `system` for anything else)."""


def external_system_converter_schema(converter) -> dict:
    from crm_sales_contracts.external_ids import SYSTEM_PATTERN
    return {"type": "string", "pattern": SYSTEM_PATTERN}


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
        if data is missing or plain_json_text(req.get_data(cache=True)):  # the text webargs read: nothing to find
            return data
        bad = invalid_text_paths(data)
        if bad:
            raise ServiceError("validation_failed", "the body holds text that is not valid Unicode or holds NUL",
                               errors={"json": {path or "$": [TEXT_ERROR] for path in bad}})
        return data


def requires_json_body(view, method: str) -> bool:
    """Whether the handler declares a required JSON body (`@blp.arguments(Schema)`, the default)."""
    parameters = getattr(handler_of(view, method), "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return any(p.get("in") == "json" and p.get("required", True) for p in parameters)


def accepts(*media_types: str):
    """Mark a hand-written view that reads a body other than JSON (a browser's form post, a raw mail
    report): the app's 415 check lets these media types through to it."""
    def mark(view):
        view._crm_accepts = frozenset(media_types)
        return view
    return mark


def accepted_media_types(view, method: str) -> frozenset:
    """The non-JSON media types a view's handler of `method` declares with @accepts."""
    return getattr(handler_of(view, method), "_crm_accepts", frozenset())


def has_body(req=None) -> bool:
    req = req if req is not None else request
    return bool(req.content_length or req.headers.get("Transfer-Encoding"))


def valid_text(value) -> bool:
    """No lone surrogates and no NUL characters anywhere in a parsed value."""
    return not invalid_text_paths(value)


def plain_json_text(text: bytes) -> bool:
    """Whether JSON text read as webargs reads it cannot hold a NUL character or a lone surrogate: it decodes the
    bytes as strict UTF-8 (a surrogate's bytes are malformed there, a 400) and json refuses a control character
    in a string, so either could only be written as a `\\u` escape."""
    return b"\\u" not in text


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


ListArgs = ListQuery  # the base of every list's query (crm_common.contracts.schemas)


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    return page(item_schema, name)


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


# -- the route table -------------------------------------------------------------------------------

PUBLIC = "public"  # access= of a route anyone may call (login, the portal's token links)
PUBLIC_IDENTIFIED = "public, identified when credentials are sent"  # access= of a token link whose service
# refuses some callers (staff answering a survey): anyone may call it, and one who sends credentials is identified


@dataclass(frozen=True)
class Route:
    """One HTTP route: `method` on `path` (under /api/v1; `<id>` the record id, `<name>` another id passed
    as the keyword `name`) calls `contract`. `status` 201 answers with the new record's Location (the
    GET route of `path` + "/<id>"; none for a path with other ids), 202 with `location` (a path with
    `{field}`s of the answer); 204 with no body. A `location` given names the Location of any answer ("" for
    none: a record without a route of its own). `access` for a route no role grant governs: PUBLIC,
    PUBLIC_IDENTIFIED, SELF_SERVICE or OWN_ACCOUNT (auth). A path id that is not a record's UUID names its
    converter (`<string:token>`). `if_match`: whether If-Match is the call's `expected_version` (default: on
    a PATCH of one record; on a DELETE of one record when sent). `options` are keywords of the call: a
    value, or a callable asked on each request (the client's address); `after(**keywords)` runs once the
    call succeeded (this worker drops a cache); `answers` are further answers the document names,
    `{409: "why"}`."""

    method: str
    path: str
    contract: RpcContract
    status: int = 200
    access: object = None
    location: str | None = None
    idempotent: bool | None = None  # default: every POST that creates (201 or 202)
    summary: str = ""
    endpoint: str | None = None
    options: dict = field(default_factory=dict)  # keywords of the call: values, or callables asked per request
    after: Callable[..., None] | None = None
    answers: dict = field(default_factory=dict)  # other answers the document names: {409: "why"}
    if_match: bool | None = None
    # the contracts to call instead of `contract` (same schemas, other services), in order, for a resource owned
    # by several services (/custom-fields): owners(loaded, keywords) -> [contract, ...]; a 404 tries the next
    owners: Callable[..., list] | None = None

    @property
    def permission(self):
        return self.contract.permission if self.access is None else self.access

    @property
    def is_public(self) -> bool:
        return self.access is PUBLIC or self.access is PUBLIC_IDENTIFIED

    @property
    def takes_if_match(self) -> bool:
        return self.if_match if self.if_match is not None else (self.method == "PATCH" and self.contract.record)


VERBS = {"list": ("GET", "", 200), "create": ("POST", "", 201), "get": ("GET", "/<id>", 200),
         "update": ("PATCH", "/<id>", 200), "delete": ("DELETE", "/<id>", 204)}


def resource(path: str, *contracts: RpcContract, **route_options) -> list[Route]:
    """The plain routes of a resource from its contracts named list_*, create_*, get_*, update_*, delete_*."""
    routes = []
    for contract in contracts:
        verb = contract.method.split("_", 1)[0]
        method, suffix, status = VERBS[verb]
        routes.append(Route(method, f"/{path}{suffix}", contract, status, **route_options))
    return routes


_PARAM = re.compile(r"<([a-z_]+)>")


def build(context: str, routes: list[Route], prefix: str = "/api/v1") -> list[Blueprint]:
    """One blueprint per first path segment, one MethodView per path; endpoint names `<segment>.<Path>`."""
    blueprints: dict[str, Blueprint] = {}
    views: dict[tuple[str, str], dict] = {}
    for route in routes:
        if route.permission is None:
            raise ValueError(f"{route.method} {route.path}: the contract declares no permission and the route no access")
        segment = route.path.strip("/").split("/", 1)[0]
        blp = blueprints.get(segment)
        if blp is None:
            blp = blueprints[segment] = Blueprint(f"{context}_{segment}".replace("-", "_"), __name__,
                                                  url_prefix=prefix, description=f"{context}: {segment}")
        views.setdefault((segment, route.path), {})[route.method.lower()] = _handler(blp, route, routes)
    for (segment, path), handlers in views.items():
        name = view_name(path)
        rule = _PARAM.sub(lambda m: f"<id:{'record_id' if m.group(1) == 'id' else m.group(1)}>", path)
        blueprints[segment].route(rule, endpoint=name)(type(name, (MethodView,), handlers))
    return list(blueprints.values())


def view_name(path: str) -> str:
    """`/leads/<id>/convert` -> `LeadsItemConvert`: the endpoint of a path in its blueprint."""
    words = [("Item" if part == "<id>" else part.strip("<>").split(":")[-1])  # <string:token> -> Token
             for part in path.strip("/").split("/")]
    return "".join(w.replace("-", "_").title().replace("_", "") for w in words) or "Root"


def _handler(blp: Blueprint, route: Route, routes: list[Route]):
    contract = route.contract
    # an answer with a body: the JSON text its service wrote, passed on as it is (never decoded and encoded here)
    passes_through = {} if route.status == 204 else {"raw_reply": True}

    def handler(self, *loaded, **path_ids):
        kwargs = {name: value() if callable(value) else value for name, value in route.options.items()}
        for name, value in path_ids.items():
            kwargs["id" if name == "record_id" else name] = value
        if route.takes_if_match:
            kwargs["expected_version"] = if_match_version()
        elif route.method == "DELETE" and contract.record and request.headers.get("If-Match"):
            kwargs["expected_version"] = if_match_version()
        if route.access is PUBLIC_IDENTIFIED and (request.headers.get("Authorization")
                                                  or request.headers.get("X-API-Key")):
            g.actor = dataclasses.replace(authenticate(), client_ip=request.remote_addr)
        result = _call_owners(route, loaded, passes_through, kwargs)
        if route.after is not None:
            route.after(**kwargs)
        return _answer(route, result, routes)

    handler.__name__ = f"{route.method.lower()}_{contract.method}"
    handler.__doc__ = route.summary or contract.description or None
    if route.idempotent or (route.idempotent is None and route.method == "POST" and route.status in (201, 202)):
        handler = kept_by_service(handler)  # the call carries the key; its service keeps the answer
    if route.is_public:
        handler = public(handler)
    handler._crm_permission = None if route.is_public else route.permission
    if route.status == 204:
        handler = blp.response(204)(handler)
    elif contract.output is not None:
        handler = blp.response(route.status, contract.output(many=contract.many))(handler)
    if route.takes_if_match or (route.method == "DELETE" and contract.record):
        handler = blp.alt_response(412, description="If-Match names a stale version")(handler)
    for status, why in route.answers.items():
        handler = blp.alt_response(status, description=why)(handler)
    if contract.input is not None:
        # an instance, built once: for a class webargs builds a new schema on every request
        handler = blp.arguments(instance(contract.input), location="query" if route.method == "GET" else "json")(handler)
    return handler


def _call_owners(route: Route, loaded: tuple, passes_through: dict, kwargs: dict):
    candidates = route.owners(loaded, kwargs) if route.owners is not None else [route.contract]
    passes_through = {**passes_through, **passed_on()}  # the request's Idempotency-Key, kept by the service
    for position, candidate in enumerate(candidates):
        try:
            return call(candidate.service, candidate.method, *loaded, **passes_through, **kwargs)
        except ServiceError as exc:
            if exc.code != "not_found" or position == len(candidates) - 1:
                raise
    raise ServiceError("not_found", "not found")


def answered_as_written(route: Route) -> bool:
    """Whether the route's answer is the service's JSON text with nothing read from it: a GET of a list or a page
    (no ETag, no Location). Every other answer is the service's text too, read only for its ETag and Location."""
    output = route.contract.output
    listing = route.contract.many or (isinstance(output, type) and issubclass(output, Page))
    return route.method == "GET" and route.status == 200 and route.location is None and listing


def _answer(route: Route, result, routes: list[Route]) -> Response:
    """The service's answer as it came (dumped once, by the service, its JSON text written as it wrote it:
    RawJson), with its ETag and Location."""
    if route.status == 204:
        return Response(status=204)
    body = None
    if isinstance(result, RawJson):
        body = bytes(result)
        if answered_as_written(route):
            return Response(body, status=route.status, mimetype="application/json")
        result = jsontext.loads(body)  # for its version and id
    headers = {}
    tag = etag_of(result)
    if tag:
        headers["ETag"] = tag
    if route.location is not None:
        if route.location and isinstance(result, dict):
            headers["Location"] = f"{request.script_root}/api/v1" + route.location.format(**result)
    elif route.status == 201 and isinstance(result, dict) and result.get("id") and "<" not in route.path:
        headers["Location"] = f"{request.script_root}/api/v1{route.path}/{result['id']}"
    if body is None:
        body = jsontext.utf8(result, str)
    return Response(body, status=route.status, headers=headers, mimetype="application/json")
