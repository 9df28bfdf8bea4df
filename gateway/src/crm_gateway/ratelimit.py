"""Rate limits per route: per authenticated caller, per client address without one.

Three limits, each counted per route (endpoint) in fixed windows; a request counts against one:

- `CRM_RATE_LIMIT` for a request with a caller (keyed by user id, or by API key), or the API key's own limit
  when an administrator set one (`PATCH /api/v1/api-keys/{id} {"rate_limit": "6000/minute"}`);
- `CRM_RATE_LIMIT_ANONYMOUS` for a request without one -- public routes, failed authentication,
  unknown URLs -- keyed by the client address (the real one behind `CRM_TRUSTED_PROXIES`);
- `CRM_RATE_LIMIT_READYZ` for /readyz (it fans out to every service), keyed by the client address.

Counted with the `limits` library (the storage and strategies flask-limiter is built on, used
directly: flask-limiter resolves decorators, blueprints and exemptions again on every request, which
costs the gateway more CPU than the counting; see README.md, "Measured"): in Redis when
`REDIS_URL` is set, shared by every gateway process and replica -- if Redis becomes unreachable,
each process counts in its own memory for a while and tries again -- otherwise in the memory of
each gateway process. A request over its limit gets a 429 problem with Retry-After and reaches no
service. /healthz and static files are not limited.
"""
from __future__ import annotations

import hashlib
import logging
import math
import time

from flask import Flask, current_app, g, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from crm_gateway import problems
from crm_gateway.auth import handler_of
from crm_gateway.settings import Settings

log = logging.getLogger(__name__)

READYZ = "platform.readyz"
NOT_LIMITED = frozenset({"platform.healthz", "static"})
UNMATCHED = "unmatched"  # the scope of requests for URLs no route answers
SHARED_RETRY_SECONDS = 30.0  # after Redis failed, count in memory this long before trying it again
REDIS_TIMEOUT_SECONDS = 0.5


def _address() -> str:
    return "addr:" + (request.remote_addr or "unknown")


def caller_key() -> str:
    """Who is counted: the authenticated caller, else the client address."""
    actor = g.get("actor")
    if actor is None:
        return _address()
    if actor.kind == "api_key":  # one budget per key: its id, else a digest of it (never the key itself)
        if actor.api_key_id:
            return "key:" + actor.api_key_id
        secret = request.headers.get("X-API-Key", "").strip().encode()
        return "key:" + hashlib.sha256(secret).hexdigest()[:32]
    return f"{actor.kind}:{actor.user_id}"


def _endpoint() -> str:
    return request.endpoint or UNMATCHED


def parse_limits(settings: Settings) -> dict[str, list[RateLimitItem]]:
    """The three limits, refused at start when not in the `limits` notation (naming the variable)."""
    parsed = {}
    for name, value in (("CRM_RATE_LIMIT", settings.rate_limit),
                        ("CRM_RATE_LIMIT_ANONYMOUS", settings.rate_limit_anonymous),
                        ("CRM_RATE_LIMIT_READYZ", settings.rate_limit_readyz),
                        ("CRM_RATE_LIMIT_FORMS", settings.rate_limit_forms),
                        ("CRM_RATE_LIMIT_TRACKING", settings.rate_limit_tracking)):
        try:
            parsed[name] = parse_many(value)
        except ValueError:
            parsed[name] = []
        if not parsed[name]:
            raise ValueError(f"{name} must be a rate limit such as '600/minute' or '10/second;600/hour', "
                             f"got {value!r}")
    return parsed


class Counters(MemoryStorage):
    """limits' memory storage without its timer threads. MemoryStorage starts a new `threading.Timer`
    (10 ms) on every count once the previous one has fired: under steady traffic about a hundred threads
    a second in each gateway process, each sweeping every counter. A counter past its window is reset
    when it is next read (`get`) all the same; the sweep that bounds memory runs here, inline, at most
    once every SWEEP_SECONDS."""

    SWEEP_SECONDS = 5.0

    def __init__(self):
        super().__init__()
        self.timer.cancel()
        self._next_sweep = time.monotonic() + self.SWEEP_SECONDS

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces MemoryStorage's private scheduler
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()


class RateLimits:
    """The gateway's limits and their counters; `check` runs among the app's before_request hooks."""

    def __init__(self, settings: Settings):
        parsed = parse_limits(settings)
        self.caller, self.anonymous = parsed["CRM_RATE_LIMIT"], parsed["CRM_RATE_LIMIT_ANONYMOUS"]
        self.readyz = parsed["CRM_RATE_LIMIT_READYZ"]
        self.apart = {"forms": parsed["CRM_RATE_LIMIT_FORMS"], "tracking": parsed["CRM_RATE_LIMIT_TRACKING"]}
        self._apart_of: dict[tuple[str, str], list[RateLimitItem] | None] = {}
        self._own: dict[str, list[RateLimitItem]] = {}  # API keys' own limits, parsed
        self.prefix = settings.rate_limit_prefix
        self.memory = FixedWindowRateLimiter(Counters())
        self.shared = None
        if settings.redis_url:
            self.shared = FixedWindowRateLimiter(storage_from_string(
                settings.redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS))
        self._shared_down_until = 0.0

    def _limits_of_request(self) -> list[RateLimitItem]:
        endpoint = request.endpoint
        if endpoint in NOT_LIMITED:
            return []
        if endpoint == READYZ:
            return self.readyz
        apart = self._limited_apart(endpoint)
        if apart is not None:
            return apart
        if g.get("actor") is None:
            return self.anonymous
        own = g.get("api_key_rate_limit")
        return self._own_limits(own) if own else self.caller

    def _own_limits(self, text: str) -> list[RateLimitItem]:
        """An API key's own limit, parsed once per text (identity checked its notation; unreadable: the default)."""
        items = self._own.get(text)
        if items is None:
            try:
                items = parse_many(text) or self.caller
            except ValueError:
                log.warning("rate limits: an API key's own limit is not in the limits notation; the default applies")
                items = self.caller
            if len(self._own) > 1000:
                self._own.clear()
            self._own[text] = items
        return items

    def _limited_apart(self, endpoint: str | None) -> list[RateLimitItem] | None:
        """The limit a view declares with @limited_apart (per client address), remembered per endpoint."""
        method = "GET" if request.method == "HEAD" else request.method  # Flask answers HEAD with the GET view
        key = (endpoint or UNMATCHED, method)
        if key not in self._apart_of:
            view = current_app.view_functions.get(endpoint) if endpoint else None
            name = getattr(handler_of(view, method), "_crm_rate_limit", None) if view is not None else None
            self._apart_of[key] = self.apart[name] if name else None
        return self._apart_of[key]

    def _identifiers(self, key: str) -> tuple[str, ...]:
        return (self.prefix, key, _endpoint()) if self.prefix else (key, _endpoint())

    def _counting(self, operation):
        """`operation(strategy)` on the shared counters, or on this process's while they are away."""
        if self.shared is not None and time.monotonic() >= self._shared_down_until:
            try:
                return operation(self.shared)
            except Exception as exc:
                log.warning("rate limits: Redis is unreachable (%s); counting in this process for %.0f s",
                            type(exc).__name__, SHARED_RETRY_SECONDS)
                self._shared_down_until = time.monotonic() + SHARED_RETRY_SECONDS
        return operation(self.memory)

    def check(self):
        """None, or the 429 for a request over its limit."""
        items = self._limits_of_request()
        if not items:
            return None
        identifiers = self._identifiers(caller_key())
        for item in items:
            if not self._counting(lambda strategy: strategy.hit(item, *identifiers)):
                return too_many_requests(self._retry_after(item, identifiers))
        return None

    def _retry_after(self, item: RateLimitItem, identifiers: tuple[str, ...]) -> int:
        try:
            reset, _remaining = self._counting(lambda strategy: strategy.get_window_stats(item, *identifiers))
            return max(1, math.ceil(reset - time.time()))
        except Exception:
            return 1

    def anonymous_budget_spent(self) -> bool:
        identifiers = self._identifiers(_address())
        return not all(self._counting(lambda strategy: strategy.test(item, *identifiers)) for item in self.anonymous)


def limited_apart(name: str):
    """Mark a public view counted against its own limit per client address instead of the anonymous one:
    "forms" (CRM_RATE_LIMIT_FORMS) or "tracking" (CRM_RATE_LIMIT_TRACKING)."""
    def mark(view):
        view._crm_rate_limit = name
        return view
    return mark


def unknown_key_from_a_spent_address() -> bool:
    """An API key not verified lately, from an address whose anonymous budget for this route is spent.

    Checking such a key costs identity a lookup, and the failure is counted only after it was made:
    refusing here first keeps a guesser from making identity work past the limit.
    """
    key = request.headers.get("X-API-Key")
    if not key or request.headers.get("Authorization"):
        return False
    if current_app.extensions["crm_api_keys"].get(hashlib.sha256(key.strip().encode()).hexdigest()) is not None:
        return False
    return current_app.extensions["crm_limits"].anonymous_budget_spent()


def init(app: Flask, settings: Settings) -> RateLimits:
    limits = RateLimits(settings)
    app.extensions["crm_limits"] = limits
    return limits


def too_many_requests(retry_after: int):
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
