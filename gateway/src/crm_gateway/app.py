"""The gateway's Flask app factory (served by gunicorn: `crm_gateway.app:create_app()`)."""
from __future__ import annotations

import inspect
import logging
import re
import uuid

from flask import Flask, current_app, g, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from crm_common import startup
from crm_common.contracts.fields import DecimalString
from crm_common.errors import ServiceError
from crm_common.rpcclient import RpcPool
from crm_gateway import auth, docs, metrics, problems, ratelimit, route_facts, traces
from crm_gateway.conventions import (TEXT_ERROR, ExternalIdConverter, ExternalSystemConverter, IdConverter,
                                     external_id_converter_schema, external_system_converter_schema,
                                     has_body, id_converter_schema, valid_text)
from crm_gateway.openapi import ContractPlugin
from crm_gateway.settings import Settings
from crm_gateway.redaction import redact

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
JSON_METHODS = ("POST", "PUT", "PATCH")
MAX_URL_LENGTH = 4096
log = logging.getLogger("crm_gateway")
API_DESCRIPTION = (
    "Every constraint a JSON Schema can state is in the schemas. Text is Unicode without NUL characters. "
    "A 422 whose description says \"refused by a rule\" (x-crm-refuses-valid-input) lists the rules "
    "the server checks beyond the schema, such as references to records that must exist.")


class ProblemApi(Api):
    """flask-smorest's Api with every error rendered -- and documented -- as problem+json."""

    ERROR_SCHEMA = problems.ProblemSchema

    def handle_http_exception(self, error):
        return problems.from_http_exception(error)

    def _register_responses(self):
        content_type = self.DEFAULT_RESPONSE_CONTENT_TYPE
        self.DEFAULT_RESPONSE_CONTENT_TYPE = problems.MEDIA_TYPE
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = content_type


class GatewayFlask(Flask):
    """Flask, whose check that a hook or view is not a coroutine function (`ensure_sync`, asked for each of a
    request's dozen hooks and its view on every request) is made once per function."""

    _sync_checked: dict = {}  # function -> whether it runs as it is (not a coroutine function)

    def ensure_sync(self, func):
        target = getattr(func, "__func__", func)  # a bound method: its function (a new method object each time)
        try:
            plain = self._sync_checked.get(target)
        except TypeError:  # an unhashable callable: Flask's own check, every time
            return super().ensure_sync(func)
        if plain is None:
            plain = not inspect.iscoroutinefunction(func)
            if len(self._sync_checked) < SYNC_CHECKS_KEPT:
                self._sync_checked[target] = plain
        return func if plain else self.async_to_sync(func)


SYNC_CHECKS_KEPT = 4096  # more distinct functions than a gateway has hooks and views: made per call, not kept


def create_app(settings: Settings | None = None) -> Flask:
    startup.refuse_development_defaults("gateway")
    settings = settings or Settings()
    app = GatewayFlask("crm_gateway")
    if settings.trusted_proxies > 0:  # the client address is the one the last trusted proxy saw
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)
    app.config.update(
        API_TITLE="CRM suite API", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/", OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=settings.max_body_bytes, JSON_SORT_KEYS=False,
        API_SPEC_OPTIONS={"info": {"description": API_DESCRIPTION}, "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}},
            "security": [{"bearer": []}, {"apiKey": []}]},
    )
    app.json.sort_keys = False
    app.extensions["crm_settings"] = settings
    # every call to a service is signed with the bus key (read at the first call)
    app.extensions["crm_rpc"] = RpcPool(settings.amqp_uri, settings.rpc_timeout, key_file=settings.bus_key_file)
    app.extensions["crm_rpc_probe"] = RpcPool(settings.amqp_uri, 2.0, size=8, key_file=settings.bus_key_file)
    app.extensions["crm_keyring"] = auth.KeyRing(settings.public_key_file)
    app.extensions["crm_api_keys"] = auth.ApiKeyCache(settings.api_key_cache_seconds)
    app.extensions["crm_cutoffs"] = auth.CutoffCache(settings.token_cutoff_cache_seconds)

    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["external_id"] = ExternalIdConverter
    app.url_map.converters["external_system"] = ExternalSystemConverter
    api = ProblemApi(app, spec_kwargs={"marshmallow_plugin": ContractPlugin()})
    api.register_converter(IdConverter, id_converter_schema)
    api.register_converter(ExternalIdConverter, external_id_converter_schema)
    api.register_converter(ExternalSystemConverter, external_system_converter_schema)
    api.register_field(DecimalString, "string", "decimal")
    app.extensions["crm_api"] = api
    app.extensions["crm_route_facts"] = {}  # (endpoint, method) -> route_facts.RouteFacts, as requests ask
    from crm_gateway.routes import register
    register(api)
    ratelimit.document(api)
    app.register_blueprint(docs.blp)
    app.add_url_rule("/metrics", "metrics", auth.public(metrics.exposition))  # Prometheus, private addresses
    _mark_spec_routes_public(app)

    # who is calling first, then the rate limit (counted per caller, or per address without one),
    # then everything else: a refused caller is counted too, and learns nothing from validation
    app.before_request(metrics.started)
    app.before_request(_identify)
    traces.install(app)  # after _identify: the span carries the request id
    app.before_request(ratelimit.init(app, settings).check)
    app.before_request(_admit)
    app.after_request(_finish)
    app.after_request(metrics.counted)
    app.register_error_handler(ServiceError, problems.from_service_error)
    app.register_error_handler(HTTPException, problems.from_http_exception)
    app.register_error_handler(Exception, problems.unexpected)
    return app


PUBLIC_ENDPOINT_PREFIXES = ("api-docs.", "docs.", "static")


def _mark_spec_routes_public(app: Flask) -> None:
    app.extensions["crm_public_endpoints"] = {
        e for e in app.view_functions if e.startswith(PUBLIC_ENDPOINT_PREFIXES)}


def _identify():
    """The request id and the caller; a refusal is kept for _admit, after the rate limit counted it."""
    req, ctx = request._get_current_object(), g._get_current_object()  # each proxy's look-up once, not per use
    incoming = req.headers.get("X-Request-ID", "")
    ctx.request_id = incoming if REQUEST_ID_RE.match(incoming) else str(uuid.uuid4())
    ctx.actor = None
    ctx.refusal = None
    if len(req.full_path) > MAX_URL_LENGTH:
        return problems.problem(414, f"the URL is longer than {MAX_URL_LENGTH} characters")
    method = req.method
    if method == "OPTIONS" and req.headers.get("Origin"):
        return _preflight(req.environ.get("crm.settings") or _settings())
    route = route_facts.of(current_app._get_current_object(), req)
    if route is not None and not route.public:
        if ratelimit.unknown_key_from_a_spent_address():
            ctx.refusal = auth.UNAUTHENTICATED  # the limiter answers 429 (or, as its window turns, 401)
            return None
        try:
            actor = auth.authenticate().from_address(req.remote_addr)
        except ServiceError as exc:
            ctx.refusal = exc
            return None
        ctx.actor = actor
        try:  # who and whether first: a caller without the right learns nothing from validation
            auth.check_declared(actor, route.permission)
        except ServiceError as exc:
            ctx.refusal = exc
    return None


def _admit():
    refusal = g.refusal
    if refusal is not None:
        return problems.from_service_error(refusal)
    req = request._get_current_object()
    bad_text = _invalid_url_text(req)
    if bad_text:
        return problems.problem(422, "the URL holds text that is not valid Unicode or a NUL character",
                                errors=bad_text)
    if req.method in JSON_METHODS:
        route = route_facts.of(current_app._get_current_object(), req)
        if route is None:
            return None
        mimetype = req.mimetype
        if has_body(req):
            if mimetype != "application/json" and not mimetype.endswith("+json") and mimetype not in route.accepts:
                return problems.problem(415, "send the body as application/json")
        elif route.json_body:
            return problems.problem(422, "this request needs a JSON body", errors={"json": ["a JSON body is required"]})
    return None


def _invalid_url_text(req) -> dict:
    errors: dict = {}
    for name, value in (req.args.items(multi=True) if req.query_string else ()):
        if not valid_text(name) or not valid_text(value):
            errors.setdefault("query", {})[name if valid_text(name) else "?"] = [TEXT_ERROR]
    if not valid_text(req.path):
        errors["path"] = [TEXT_ERROR]
    return errors


def _settings() -> Settings:
    from flask import current_app
    return current_app.extensions["crm_settings"]


def _preflight(settings: Settings):
    from flask import Response
    response = Response(status=204)
    origin = request.headers.get("Origin")
    if origin in settings.cors_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, PUT, DELETE, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = (
            "Authorization, Content-Type, X-API-Key, X-Request-ID, Idempotency-Key, If-Match")
        response.headers["Access-Control-Max-Age"] = "600"
        response.headers["Vary"] = "Origin"
    return response


SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                    ("Referrer-Policy", "no-referrer"),
                    ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
                    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"))
API_HEADERS = (*SECURITY_HEADERS, ("Cache-Control", "no-store"))


def _finish(response):
    req, headers = request._get_current_object(), response.headers
    request_id = g.get("request_id")
    headers["X-Request-ID"] = request_id or str(uuid.uuid4())
    # each header a view did not set, added in one pass over the response's (a setdefault each scanned them all)
    present = {name.lower() for name, _ in headers.items()}
    headers.extend([(name, value) for name, value in (API_HEADERS if req.path.startswith("/api/")
                                                      else SECURITY_HEADERS) if name.lower() not in present])
    origin = req.headers.get("Origin")
    if origin and origin in _settings().cors_origins:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = "ETag, Location, X-Request-ID, Retry-After"
        headers["Vary"] = "Origin"
    # gunicorn's access log has the line of every request, with its rid=; this one only when debugging
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s %s %s request_id=%s", req.method, redact(req.path), response.status_code, request_id)
    return response
