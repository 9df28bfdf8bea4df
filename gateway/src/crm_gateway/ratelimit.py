"""Rate limits per route (flask-limiter): per authenticated caller, per client address without one.

Three limits, each counted per route (endpoint) in fixed windows; a request counts against one:

- `CRM_RATE_LIMIT` for a request with a caller (keyed by user id, or by API key);
- `CRM_RATE_LIMIT_ANONYMOUS` for a request without one -- public routes, failed authentication,
  unknown URLs -- keyed by the client address (the real one behind `CRM_TRUSTED_PROXIES`);
- `CRM_RATE_LIMIT_READYZ` for /readyz (it fans out to every service), keyed by the client address.

Counters live in Redis when `REDIS_URL` is set (shared by every gateway process and replica; if
Redis becomes unreachable each process falls back to its own memory until it is back), otherwise
in the memory of each gateway process. A request over a limit gets a 429 problem with Retry-After.
/healthz and static files are not limited.
"""
from __future__ import annotations

import hashlib
import math
import time

from flask import Flask, current_app, g, request
from flask_limiter import Limit, Limiter, RateLimitExceeded
from limits import parse_many

from crm_gateway import problems
from crm_gateway.settings import Settings

READYZ = "platform.readyz"
NOT_LIMITED = frozenset({"platform.healthz"})
UNMATCHED = "unmatched"  # the scope of requests for URLs no route answers


def _address() -> str:
    return "addr:" + (request.remote_addr or "unknown")


def caller_key() -> str:
    """Who is counted: the authenticated caller, else the client address."""
    actor = g.get("actor")
    if actor is None:
        return _address()
    if actor.kind == "api_key":  # one budget per key, named by a digest of it (never the key itself)
        secret = request.headers.get("X-API-Key", "").strip().encode()
        return "key:" + hashlib.sha256(secret).hexdigest()[:32]
    return f"{actor.kind}:{actor.user_id}"


def _endpoint() -> str:
    return request.endpoint or UNMATCHED


def _limit_of_request(settings: Settings) -> str:
    """The limit this request counts against ("" for none): one limit per request, so one counter."""
    endpoint = request.endpoint
    if endpoint in NOT_LIMITED:
        return ""
    if endpoint == READYZ:
        return settings.rate_limit_readyz
    return settings.rate_limit if g.get("actor") is not None else settings.rate_limit_anonymous


def unknown_key_from_a_spent_address() -> bool:
    """An API key not verified lately, from an address whose anonymous budget for this route is spent.

    Checking such a key costs identity a lookup, and the limiter counts a failed one only after it
    was made: refusing here first keeps a guesser from making identity work past the limit.
    """
    key = request.headers.get("X-API-Key")
    if not key or request.headers.get("Authorization"):
        return False
    if current_app.extensions["crm_api_keys"].get(hashlib.sha256(key.strip().encode()).hexdigest()) is not None:
        return False
    limiter: Limiter = current_app.extensions["crm_limiter"]
    prefix = current_app.extensions["crm_settings"].rate_limit_prefix
    args = [prefix, _address(), _endpoint()] if prefix else [_address(), _endpoint()]
    try:
        return not all(limiter.limiter.test(item, *args) for item in current_app.extensions["crm_anonymous_limits"])
    except Exception:  # the counter store is away: the limiter's own fallback decides
        return False


def check_limits(settings: Settings) -> None:
    """Refuse a limit that is not in the `limits` notation (at start, naming the variable)."""
    for name, value in (("CRM_RATE_LIMIT", settings.rate_limit),
                        ("CRM_RATE_LIMIT_ANONYMOUS", settings.rate_limit_anonymous),
                        ("CRM_RATE_LIMIT_READYZ", settings.rate_limit_readyz)):
        try:
            if not parse_many(value):
                raise ValueError
        except ValueError:
            raise ValueError(f"{name} must be a rate limit such as '600/minute' or '10/second;600/hour', "
                             f"got {value!r}") from None


def init(app: Flask, settings: Settings) -> Limiter:
    """Install the limiter; its check runs where it is registered among the app's before_request hooks."""
    check_limits(settings)
    limiter = Limiter(
        caller_key,
        default_limits=[Limit(lambda: _limit_of_request(settings), key_function=caller_key)],
        storage_uri=settings.redis_url or "memory://",
        strategy="fixed-window",
        key_prefix=settings.rate_limit_prefix,
        request_identifier=_endpoint,
        headers_enabled=False,  # Retry-After only on a 429: no extra counter read on every request
        in_memory_fallback_enabled=bool(settings.redis_url),
        swallow_errors=True,  # a failing counter store never fails a request
    )
    limiter.init_app(app)
    app.extensions["crm_limiter"] = limiter
    app.extensions["crm_anonymous_limits"] = parse_many(settings.rate_limit_anonymous)
    app.register_error_handler(RateLimitExceeded, lambda exc: too_many_requests(limiter))
    return limiter


def too_many_requests(limiter: Limiter):
    retry_after = 1
    current = limiter.current_limit
    if current is not None:
        try:
            retry_after = max(1, math.ceil(current.reset_at - time.time()))
        except Exception:  # the counter store went away between the hit and this read
            retry_after = 1
    return problems.problem(429, "too many requests; try again after the time in Retry-After",
                            headers={"Retry-After": str(retry_after)})


RESPONSE = "RATE_LIMITED"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def document(api) -> None:
    """Every operation may answer 429 (a problem with Retry-After): say so in /openapi.json."""
    api.spec.components.response(RESPONSE, {
        "description": "Too many requests from this caller or address for this route; retry after Retry-After seconds",
        "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 1}}},
        "content": {problems.MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    })
    for operations in api.spec._paths.values():  # apispec keeps the registered paths there
        for method, operation in operations.items():
            if method in HTTP_METHODS:
                operation.setdefault("responses", {}).setdefault(
                    "429", {"$ref": f"#/components/responses/{RESPONSE}"})
