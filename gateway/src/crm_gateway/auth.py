"""Who is calling: access tokens verified with the public key only, API keys checked by identity.

Every route needs a caller unless it is marked @public; `requires(resource, action)` then checks the
role's permission at the gateway (the owning service applies the record scope again).
"""
from __future__ import annotations

import dataclasses
import hashlib
import threading
import time

import jwt
from flask import current_app, g, request

from crm_common.context import Actor
from crm_common.errors import ServiceError
from crm_gateway import settings as gw_settings

UNAUTHENTICATED = ServiceError("unauthenticated", "missing or invalid credentials")
REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "jti"]


def public(view):
    """Mark a view as reachable without credentials (and document it so: `security: []`)."""
    view._crm_public = True
    apidoc = dict(getattr(view, "_apidoc", {}))
    apidoc["manual_doc"] = {**apidoc.get("manual_doc", {}), "security": []}
    view._apidoc = apidoc
    return view


SELF_SERVICE = ("self", "use")
OWN_ACCOUNT = ("self", "account")
PEOPLE = ("user", "customer")
OWN_ACCOUNT_ONLY = ("an API key may not act on its owner's account (MFA, password, sessions, logout, profile); "
                    "sign in as the user for that")


def authenticated(view):
    """Mark a view any signed-in caller, an API key included, may use about themself (reading /me)."""
    view._crm_permission = SELF_SERVICE
    return view


def own_account(view):
    """Mark a view a signed-in person uses on their own account (logout, password, MFA, profile): an API key
    gets a 403, since it would act on its owner's account."""
    view._crm_permission = OWN_ACCOUNT
    return view


def self_service(permission) -> bool:
    return permission in (SELF_SERVICE, OWN_ACCOUNT)


def handler_of(view, method: str | None = None):
    """The function that answers `method`: a class-based view's handler, or the view itself."""
    cls = getattr(view, "view_class", None)
    return getattr(cls, (method or "").lower(), None) if cls is not None else view


def is_public(view, method: str | None = None) -> bool:
    """Whether the view (or, for a class-based view, its handler of `method`) is marked @public."""
    return bool(getattr(view, "_crm_public", False) or getattr(handler_of(view, method), "_crm_public", False))


def declared_permission(view, method: str | None = None) -> tuple[str, str] | None:
    """The (resource, action) a view (or a class-based view's handler of `method`) declares with @requires."""
    return getattr(handler_of(view, method), "_crm_permission", None)


def check_permission(actor: Actor, view, method: str) -> None:
    """Refuse with 403 before anything else looks at the request, so a denied caller learns nothing from validation."""
    check_declared(actor, declared_permission(view, method))


def check_declared(actor: Actor, permission: tuple[str, str] | None) -> None:
    """check_permission with the permission the view declares (route_facts keeps it per route)."""
    if permission == OWN_ACCOUNT and actor.kind not in PEOPLE:
        raise ServiceError("forbidden", OWN_ACCOUNT_ONLY)
    if permission is not None and not self_service(permission) and not actor.can(*permission):
        resource, action = permission
        raise ServiceError("forbidden", f"your role may not {action} {resource}")


@dataclasses.dataclass(frozen=True)
class TokenFacts:
    """What the cutoff is checked against: when the token was issued (microseconds) and its session."""

    issued_us: int
    session_id: str | None


def token_facts(claims: dict) -> TokenFacts:
    issued_us = claims.get("iat_us")
    if not isinstance(issued_us, int) or isinstance(issued_us, bool):
        issued_us = int(claims["iat"]) * 1_000_000  # no finer time: the earliest instant of its second
    session_id = claims.get("sid")
    return TokenFacts(issued_us, session_id if isinstance(session_id, str) else None)


class VerifiedTokens:
    """Access tokens whose signature and claims were verified, until they expire (bounded).

    A token is immutable, so verifying it once per worker is enough; what can change -- the user
    deactivated, sessions revoked, their team or territories -- is checked on every request against the
    cutoff (CutoffCache)."""

    def __init__(self, size: int = 20000):
        self.size = size
        self._items: dict[str, tuple[float, Actor, TokenFacts]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> tuple[Actor, TokenFacts] | None:
        item = self._items.get(token)
        if item is None:
            return None
        expires, actor, facts = item
        if time.time() >= expires:
            with self._lock:
                self._items.pop(token, None)
            return None
        return actor, facts

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def put(self, token: str, expires: float, actor: Actor, facts: TokenFacts) -> None:
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()
            self._items[token] = (expires, actor, facts)


class KeyRing:
    """The identity service's public key, read from a file (reloaded when the file changes)."""

    def __init__(self, path: str):
        self.path = path
        self._key = None
        self._mtime = None
        self._lock = threading.Lock()
        self.verified = VerifiedTokens()  # what this key verified

    def key(self):
        import os
        try:
            mtime = os.stat(self.path).st_mtime
        except OSError:
            raise ServiceError("unavailable", "the token verification key is not configured") from None
        with self._lock:
            if self._key is None or mtime != self._mtime:
                from cryptography.hazmat.primitives.serialization import load_pem_public_key
                with open(self.path, "rb") as fh:
                    self._key = load_pem_public_key(fh.read())
                if self._mtime is not None:
                    self.verified.clear()  # a new key: what the old one verified is verified again
                self._mtime = mtime
            return self._key




def verify_access_token(token: str, keyring: KeyRing) -> Actor:
    key = keyring.key()
    known = keyring.verified.get(token)
    if known is None:
        try:
            claims = jwt.decode(token, key, algorithms=[gw_settings.JWT_ALGORITHM],
                                audience=gw_settings.JWT_AUDIENCE, issuer=gw_settings.JWT_ISSUER,
                                options={"require": REQUIRED_CLAIMS})
        except jwt.PyJWTError:
            raise UNAUTHENTICATED from None
        if claims.get("typ") != "access":
            raise UNAUTHENTICATED
        actor = Actor(user_id=claims["sub"], kind=claims.get("kind", "user"), email=claims.get("email"),
                      roles=tuple(claims.get("roles") or ()), team_id=claims.get("team_id"),
                      territory_ids=tuple(claims.get("territory_ids") or ()), perms=dict(claims.get("perms") or {}),
                      account_id=claims.get("account_id"), contact_id=claims.get("contact_id"),
                      partner_id=claims.get("partner_id"))
        known = actor, token_facts(claims)
        keyring.verified.put(token, float(claims["exp"]), *known)
    actor, facts = known
    state = _cutoff(actor.user_id)
    if not admits(state, facts):
        raise UNAUTHENTICATED
    g.session_id = facts.session_id
    return current_membership(actor, state)


def admits(state: dict, facts: TokenFacts) -> bool:
    """Whether identity's cutoff `state` for the token's user lets a token with these facts through: the
    user is active, the token was issued after the user's last revocation (strictly: a token of the same
    microsecond is refused), and its session was not ended on its own (a logout)."""
    if not state.get("active"):
        return False
    valid_after_us = state.get("valid_after_us")
    if valid_after_us is None and state.get("valid_after") is not None:  # an identity without microseconds
        valid_after_us = int(state["valid_after"]) * 1_000_000 - 1
    if valid_after_us is not None and facts.issued_us <= valid_after_us:
        return False
    return not (facts.session_id and facts.session_id in (state.get("ended_sessions") or ()))


def current_membership(actor: Actor, state: dict) -> Actor:
    """The actor with the team and territories its user has now (the token's are as of its issue)."""
    if "team_id" not in state:
        return actor
    territories = tuple(state.get("territory_ids") or ())
    if actor.team_id == state["team_id"] and actor.territory_ids == territories:
        return actor
    return dataclasses.replace(actor, team_id=state["team_id"], territory_ids=territories)


class CutoffCache:
    """Per user, identity's answer to "are this user's tokens still good, and what is their membership
    now?", kept `ttl` seconds (CRM_TOKEN_CUTOFF_CACHE).

    A deactivated user, one whose sessions were revoked (logout, password or role change), and one moved
    to another team or territory, see it within `ttl` seconds instead of when the access token expires;
    in the worker that served the logout at once (`forget`).
    """

    def __init__(self, ttl: float = 10.0):
        self.ttl = ttl
        self._items: dict[str, tuple[float, dict]] = {}
        self._lock = threading.Lock()

    def get(self, user_id: str, fetch) -> dict:
        now = time.monotonic()
        with self._lock:
            item = self._items.get(user_id)
        if item and item[0] > now:
            return item[1]
        value = fetch(user_id)
        with self._lock:
            if len(self._items) > 50000:
                self._items.clear()
            self._items[user_id] = (now + self.ttl, value)
        return value

    def forget(self, user_id: str | None) -> None:
        with self._lock:
            self._items.pop(user_id, None)


def _cutoff(user_id: str) -> dict:
    from crm_gateway.rpc import pool

    cache: CutoffCache = current_app.extensions["crm_cutoffs"]
    return cache.get(user_id, lambda uid: pool().call("identity", "token_cutoff", id=uid,
                                                      request_id=getattr(g, "request_id", None)))


def forget_sessions_of(user_id: str | None) -> None:
    """After this worker ended sessions of `user_id` (logout, password change): ask identity again at once."""
    current_app.extensions["crm_cutoffs"].forget(user_id)


def forget_api_key(key_id: str) -> None:
    """After this worker revoked the key `key_id`: its cached actor goes at once."""
    current_app.extensions["crm_api_keys"].forget_key(key_id)


class ApiKeyCache:
    """Actors of recently verified API keys, by the key's hash, for `ttl` seconds (CRM_API_KEY_CACHE): a
    revoked key, or one whose owner lost grants, changes within that; a key revoked or changed through this
    worker is dropped at once (`forget_key`). With each actor, the key's own rate limit (None: the default)."""

    def __init__(self, ttl: float):
        self.ttl = ttl
        self._items: dict[str, tuple[float, Actor, str | None, str | None]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> Actor | None:
        entry = self.entry(digest)
        return entry[0] if entry else None

    def entry(self, digest: str) -> tuple[Actor, str | None] | None:
        """(actor, the key's rate limit) while cached."""
        with self._lock:
            item = self._items.get(digest)
            if item and item[0] > time.monotonic():
                return item[1], item[3]
            self._items.pop(digest, None)
            return None

    def put(self, digest: str, actor: Actor, key_id: str | None = None, rate_limit: str | None = None) -> None:
        with self._lock:
            if len(self._items) > 10000:
                self._items.clear()
            self._items[digest] = (time.monotonic() + self.ttl, actor, key_id, rate_limit)

    def forget_key(self, key_id: str) -> None:
        with self._lock:
            for digest in [d for d, item in self._items.items() if item[2] == key_id]:
                del self._items[digest]


def authenticate() -> Actor:
    g.session_id = None  # the session (refresh chain) of the access token used, if any
    headers = request.headers
    header = headers.get("Authorization", "")
    api_key = headers.get("X-API-Key")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UNAUTHENTICATED
        return verify_access_token(token.strip(), current_app.extensions["crm_keyring"])
    if api_key:
        return _api_key_actor(api_key.strip())
    raise UNAUTHENTICATED


def _api_key_actor(key: str) -> Actor:
    from crm_gateway.rpc import pool

    cache: ApiKeyCache = current_app.extensions["crm_api_keys"]
    digest = hashlib.sha256(key.encode()).hexdigest()
    entry = cache.entry(digest)
    if entry is None:
        data = pool().call("identity", "authenticate_api_key", secret=key, request_id=getattr(g, "request_id", None),
                           client_ip=request.remote_addr)
        actor = Actor.from_dict(data)
        if actor is None:
            raise UNAUTHENTICATED
        entry = (actor, data.get("rate_limit"))
        cache.put(digest, actor, data.get("api_key_id"), entry[1])
    g.api_key_rate_limit = entry[1]  # the key's own limit (ratelimit), None for the default
    return entry[0]


def requires(resource: str, action: str):
    """Declare that the caller's role must grant `action` on `resource` (any scope). The app checks it once,
    before the request is parsed (app._identify -> check_permission): a denied caller gets 403."""

    def declare(view):
        view._crm_permission = (resource, action)
        return view

    return declare
