"""Signed callers on the bus: who an RPC is for, vouched for by whoever holds the bus key.

The gateway (and any tool or service that calls a service) signs, for each call, the encoded actor,
the request id, the time of signing and the target `service.method` with HMAC-SHA256 under the bus
key (`CRM_BUS_KEY_FILE`, 32 random bytes). The four travel in nameko's context data. A service
verifies them before it runs the method: a call with no signature, another signature, a signature
older than `CRM_BUS_SIGNATURE_TTL` seconds (or from too far in the future) or one made for another
method is refused as `unauthenticated`. A signed actor never has the kind `system`: that caller
exists only inside a service, for its timers and event handlers. A call made for a request with an
`Idempotency-Key` carries the key and the request's fingerprint too, under the same signature
(crm_common.idempotency): nobody without the bus key can attach a key to a call, or change one.
"""
from __future__ import annotations

import base64
import hmac
import time
from pathlib import Path

from crm_common import config, keyfiles
from crm_common.context import (ACTOR_KEY, IDEMPOTENCY_FINGERPRINT, IDEMPOTENCY_KEY, REQUEST_ID_KEY, Actor,
                                new_request_id)
from crm_common.errors import ServiceError

SIGNED_AT_KEY = "crm_signed_at"
SIGNATURE_KEY = "crm_signature"
KEY_BYTES = 32
CLOCK_SKEW = 5.0  # seconds a signature may seem to come from the future (clocks of two hosts)

ANONYMOUS = Actor(kind="anonymous")  # a caller who has not signed in: no grants (login, health)
OPERATOR = Actor(kind="operator", roles=("admin",))  # an operator's tool on a host that holds the key


class BusKeyError(RuntimeError):
    """The bus key file is missing or malformed."""


def key_file() -> Path:
    return Path(config.env("CRM_BUS_KEY_FILE") or (config.var_dir() / "keys" / "bus.key"))


def generate_key_file(path: Path | None = None) -> Path:
    """Write a new bus key unless one is there (every process of a deployment must hold the same one)."""
    return keyfiles.generate(Path(path or key_file()), KEY_BYTES)


def load_key(path: Path | None = None) -> bytes:
    path = Path(path or key_file())
    return keyfiles.load(path, KEY_BYTES, BusKeyError, "bus key", f"python -m crm_common.callers generate {path} "
                         "writes one; every service and the gateway need the same")


def ttl() -> float:
    return config.env_float("CRM_BUS_SIGNATURE_TTL", 30.0)


def _mac(key: bytes, target: str, request_id: str, signed_at: str, encoded_actor: str,
         idempotent: tuple[str, str] | None = None) -> str:
    parts = (target, request_id, signed_at, encoded_actor) + (tuple(idempotent) if idempotent else ())
    message = "\n".join(parts).encode()  # none of the parts holds a line break (the actor is JSON)
    return base64.b64encode(hmac.digest(key, message, "sha256")).decode()


def sign(key: bytes, target: str, actor: Actor | None, request_id: str | None = None,
         now: float | None = None, idempotent=None) -> dict:
    """The context data of one call to `target` ("service.method") as `actor` (anonymous when None);
    `idempotent` (crm_common.idempotency.Idempotent): the request's key and fingerprint, signed with it."""
    encoded = (actor or ANONYMOUS).encode()
    request_id = request_id or new_request_id()
    signed_at = str(int((time.time() if now is None else now) * 1000))
    pair = (idempotent.key, idempotent.fingerprint) if idempotent is not None else None
    data = {REQUEST_ID_KEY: request_id, ACTOR_KEY: encoded, SIGNED_AT_KEY: signed_at,
            SIGNATURE_KEY: _mac(key, target, request_id, signed_at, encoded, pair)}
    if pair is not None:
        data[IDEMPOTENCY_KEY], data[IDEMPOTENCY_FINGERPRINT] = pair
    return data


def idempotent_pair(data: dict) -> tuple[str, str] | None:
    """The key and fingerprint a call carries (None: none); unauthenticated when only one is there, or not
    as text without line breaks."""
    pair = (data.get(IDEMPOTENCY_KEY), data.get(IDEMPOTENCY_FINGERPRINT))
    if pair == (None, None):
        return None
    if not all(isinstance(v, str) and v and "\n" not in v for v in pair):
        raise ServiceError("unauthenticated", "the call's Idempotency-Key is malformed")
    return pair


def verify(key: bytes, target: str, data: dict | None, now: float | None = None,
           max_age: float | None = None) -> Actor:
    """The signed actor of a call to `target`, or ServiceError("unauthenticated")."""
    data = data or {}
    encoded, request_id = data.get(ACTOR_KEY), data.get(REQUEST_ID_KEY)
    signed_at, signature = data.get(SIGNED_AT_KEY), data.get(SIGNATURE_KEY)
    if not all(isinstance(v, str) and v for v in (encoded, request_id, signed_at, signature)):
        raise ServiceError("unauthenticated", "the call carries no signed caller")
    if not hmac.compare_digest(_mac(key, target, request_id, signed_at, encoded, idempotent_pair(data)), signature):
        raise ServiceError("unauthenticated", "the caller's signature does not verify for this call")
    try:
        age = (time.time() if now is None else now) - int(signed_at) / 1000
    except ValueError:
        raise ServiceError("unauthenticated", "the caller's signature has no valid time") from None
    if age > (ttl() if max_age is None else max_age) or age < -CLOCK_SKEW:
        raise ServiceError("unauthenticated", "the caller's signature has expired")
    actor = Actor.decode(encoded)
    if actor is None or actor.kind == "system":
        raise ServiceError("unauthenticated", "a call cannot be made as the system")
    return actor


def main(argv: list[str]) -> int:
    import sys
    if len(argv) not in (1, 2) or argv[0] != "generate":
        print("usage: python -m crm_common.callers generate [PATH]   (default: CRM_BUS_KEY_FILE or "
              "var/keys/bus.key; an existing key is kept)", file=sys.stderr)
        return 2
    path = generate_key_file(Path(argv[1]) if len(argv) == 2 else None)
    print(f"bus key: {path}")
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))
