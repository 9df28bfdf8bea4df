"""Who is calling: access tokens verified with the public key only, API keys checked by identity.

Every route needs a caller unless it is marked @public; `requires(resource, action)` then checks the
role's permission at the gateway (the owning service applies the record scope again).
"""
from __future__ import annotations

import functools
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


def authenticated(view):
    """Mark a view any signed-in caller may use on their own account (/me, logout, MFA)."""
    view._crm_permission = SELF_SERVICE
    return view


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
    permission = declared_permission(view, method)
    if permission is not None and permission != SELF_SERVICE and not actor.can(*permission):
        resource, action = permission
        raise ServiceError("forbidden", f"your role may not {action} {resource}")


class VerifiedTokens:
    """Access tokens whose signature and claims were verified, until they expire (bounded).

    A token is immutable, so verifying it once per worker is enough; what can change -- the user
    deactivated, sessions revoked -- is checked on every request by the cutoff (CutoffCache)."""

    def __init__(self, size: int = 20000):
        self.size = size
        self._items: dict[str, tuple[float, Actor, int]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> tuple[Actor, int] | None:
        item = self._items.get(token)
        if item is None:
            return None
        expires, actor, issued_at = item
        if time.time() >= expires:
            with self._lock:
                self._items.pop(token, None)
            return None
        return actor, issued_at

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def put(self, token: str, expires: float, actor: Actor, issued_at: int) -> None:
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()
            self._items[token] = (expires, actor, issued_at)


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
    if known is not None:
        actor, issued_at = known
        if not _still_valid(actor.user_id, issued_at):
            raise UNAUTHENTICATED
        return actor
    try:
        claims = jwt.decode(token, key, algorithms=[gw_settings.JWT_ALGORITHM],
                            audience=gw_settings.JWT_AUDIENCE, issuer=gw_settings.JWT_ISSUER,
                            options={"require": REQUIRED_CLAIMS})
    except jwt.PyJWTError:
        raise UNAUTHENTICATED from None
    if claims.get("typ") != "access":
        raise UNAUTHENTICATED
    if not _still_valid(claims["sub"], int(claims["iat"])):
        raise UNAUTHENTICATED
    actor = Actor(user_id=claims["sub"], kind=claims.get("kind", "user"), email=claims.get("email"),
                  roles=tuple(claims.get("roles") or ()), team_id=claims.get("team_id"),
                  territory_ids=tuple(claims.get("territory_ids") or ()), perms=dict(claims.get("perms") or {}),
                  account_id=claims.get("account_id"), contact_id=claims.get("contact_id"))
    keyring.verified.put(token, float(claims["exp"]), actor, int(claims["iat"]))
    return actor


class CutoffCache:
    """Per user, identity's answer to "are this user's tokens still good?", kept a few seconds.

    A deactivated user, or one whose sessions were revoked (logout, password or role change), is
    locked out within `ttl` seconds instead of when the access token expires.
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


def _still_valid(user_id: str, issued_at: int) -> bool:
    from crm_gateway.rpc import pool

    cache: CutoffCache = current_app.extensions["crm_cutoffs"]
    state = cache.get(user_id, lambda uid: pool().call("identity", "token_cutoff", uid,
                                                       request_id=getattr(g, "request_id", None)))
    if not state.get("active"):
        return False
    valid_after = state.get("valid_after")
    return valid_after is None or issued_at >= valid_after


class ApiKeyCache:
    """Actors of recently verified API keys, by the key's hash, for a few seconds."""

    def __init__(self, ttl: float):
        self.ttl = ttl
        self._items: dict[str, tuple[float, Actor]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> Actor | None:
        with self._lock:
            item = self._items.get(digest)
            if item and item[0] > time.monotonic():
                return item[1]
            self._items.pop(digest, None)
            return None

    def put(self, digest: str, actor: Actor) -> None:
        with self._lock:
            if len(self._items) > 10000:
                self._items.clear()
            self._items[digest] = (time.monotonic() + self.ttl, actor)


def authenticate() -> Actor:
    header = request.headers.get("Authorization", "")
    api_key = request.headers.get("X-API-Key")
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
    actor = cache.get(digest)
    if actor is None:
        data = pool().call("identity", "authenticate_api_key", key, request_id=getattr(g, "request_id", None),
                           client_ip=request.remote_addr)
        actor = Actor.from_dict(data)
        if actor is None:
            raise UNAUTHENTICATED
        cache.put(digest, actor)
    return actor


def requires(resource: str, action: str):
    """The caller's role must grant `action` on `resource` (any scope); otherwise 403."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            actor: Actor | None = getattr(g, "actor", None)
            if actor is None:
                raise UNAUTHENTICATED
            if not actor.can(resource, action):
                raise ServiceError("forbidden", f"your role may not {action} {resource}")
            return view(*args, **kwargs)

        wrapper._crm_permission = (resource, action)
        return wrapper

    return decorate
