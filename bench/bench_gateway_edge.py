"""The rate limiter's cost per request in the gateway, figures printed, nothing asserted.

GET /api/v1/me with a bearer token through the gateway app in-process (WSGI, one thread), identity
answered by a stub, so that what is measured is the gateway's own work per request: (a) with the
limiter's check taken out, (b) counting in memory, (c) counting in Redis (REDIS_URL, default the
local one; skipped when unreachable). Rounds alternate between the three, and each figure is the
median of the rounds, so that a machine shared with other work weighs on all alike. CPU is this
process's (all its threads), the steadier figure on a busy machine; wall includes Redis round trips.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jwt  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from crm_common import migrate  # noqa: E402
from crm_gateway.app import create_app  # noqa: E402
from crm_gateway.settings import JWT_AUDIENCE, JWT_ISSUER, Settings  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


class Identity:
    def call(self, service, method, *args, **kwargs):
        if method == "token_cutoff":
            return {"active": True, "valid_after": None}
        return {"id": kwargs["actor"].user_id, "email": "bench@crm.test"}


def gateway(tmp: Path, key_file: str, redis_url: str | None, limiter: bool):
    url = f"sqlite:///{tmp / 'gateway.db'}"
    app = create_app(Settings(amqp_uri="amqp://guest:guest@127.0.0.1:1/", public_key_file=key_file,
                              database_url=url, redis_url=redis_url, rate_limit="100000000/minute",
                              rate_limit_prefix=f"crm-bench-{uuid.uuid4().hex[:8]}"))
    app.extensions["crm_rpc"] = Identity()
    if not limiter:  # the baseline: the app as it is, less the limiter's before_request check
        check = app.extensions["crm_limits"].check
        app.before_request_funcs[None] = [f for f in app.before_request_funcs[None] if f != check]
        assert len(app.before_request_funcs[None]) == 2
    return app.test_client()


def per_request_us(client, headers) -> tuple[float, float]:
    """(wall, CPU of this process -- every thread) microseconds per request."""
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(REQUESTS):
        response = client.get("/api/v1/me", headers=headers)
        if response.status_code != 200:
            raise RuntimeError(response.status_code)
    return ((time.perf_counter() - started) / REQUESTS * 1e6, (time.process_time() - cpu) / REQUESTS * 1e6)


def main() -> int:
    import redis
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        redis_url = REDIS_URL
    except Exception:
        redis_url = None
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        key = Ed25519PrivateKey.generate()
        key_file = tmp / "public.pem"
        key_file.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo))
        migrate.upgrade("gateway", f"sqlite:///{tmp / 'gateway.db'}")
        now = int(time.time())
        token = jwt.encode({"iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "sub": str(uuid.uuid4()), "iat": now,
                            "exp": now + 3600, "jti": str(uuid.uuid4()), "typ": "access", "perms": {}},
                           key, algorithm="EdDSA")
        headers = {"Authorization": f"Bearer {token}"}
        variants = {"(a) no limiter": gateway(tmp, str(key_file), None, limiter=False),
                    "(b) limiter, memory": gateway(tmp, str(key_file), None, limiter=True)}
        if redis_url:
            variants["(c) limiter, Redis"] = gateway(tmp, str(key_file), redis_url, limiter=True)
        for client in variants.values():
            per_request_us(client, headers)  # warm up
        rounds: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
        for _ in range(ROUNDS):
            for name, client in variants.items():
                rounds[name].append(per_request_us(client, headers))
        base_wall = statistics.median(w for w, _c in rounds["(a) no limiter"])
        base_cpu = statistics.median(c for _w, c in rounds["(a) no limiter"])
        for name, values in rounds.items():
            wall, cpu = statistics.median(w for w, _c in values), statistics.median(c for _w, c in values)
            print(f"{name:<22} CPU {cpu:7.1f} us/request (+{cpu - base_cpu:6.1f}, x{cpu / base_cpu:.2f})"
                  f"   wall {wall:7.1f} us (+{wall - base_wall:6.1f}, x{wall / base_wall:.2f})", flush=True)
        if not redis_url:
            print(f"(c) skipped: no Redis at {REDIS_URL}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
