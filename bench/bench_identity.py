"""Identity benchmark (issue 3), figures printed, nothing asserted:

logins per second per core through the login RPC (argon2id verification, throttling bookkeeping,
token signing, refresh token and outbox writes), against a bare argon2id hash loop with the same
parameters on one core. The identity service runs as one process (one core: eventlet, the GIL), so
its logins per second are its logins per second per core.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import run_load, show  # noqa: E402
from crm_common.rpcclient import RpcPool  # noqa: E402
from crm_common.testing.harness import ServiceProcess, Vhost  # noqa: E402

THREADS = int(os.environ.get("BENCH_THREADS", "8"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
EMAIL, PASSWORD = "bench-login@crm.test", "Bench-Passw0rd-2026!"


def bench_hash_loop() -> dict:
    from crm_identity.domain.passwords import HASHER

    hashed = HASHER.hash(PASSWORD)
    count, began = 0, time.perf_counter()
    while time.perf_counter() - began < min(SECONDS, 5):
        HASHER.verify(hashed, PASSWORD)
        count += 1
    elapsed = time.perf_counter() - began
    figures = {"per_s": count / elapsed, "p50_ms": elapsed / count * 1000, "p99_ms": float("nan"), "calls": count,
               "errors": 0}
    show("bare argon2id verify loop (1 core)", figures)
    return figures


def bench_login(vhost: Vhost, tmp: Path) -> dict:
    env = {"AMQP_URI": vhost.uri, "CRM_VAR_DIR": str(tmp), "CRM_ADMIN_EMAIL": EMAIL, "CRM_ADMIN_PASSWORD": PASSWORD,
           "CRM_JWT_PRIVATE_KEY_FILE": str(tmp / "keys" / "jwt_private.pem")}
    run_env = {**os.environ, **env}
    for args in (["-m", "crm_identity.keys", "generate", str(tmp / "keys")], ["-m", "crm_common.migrate", "identity"],
                 ["-c", "from crm_common import topology; topology.declare()"], ["-m", "crm_identity.seed_admin"]):
        subprocess.run([sys.executable, "-W", "ignore", *args], env=run_env, check=True, capture_output=True)
    proc = ServiceProcess("crm_identity.service:IdentityService", env, tmp, name="identity",
                          config=Path(__file__).resolve().parent.parent / "services" / "identity" / "config.yaml").start()
    try:
        proc.wait_ready("identity")

        def worker():
            pool = RpcPool(vhost.uri, timeout=30, size=1, key_file=proc.env["CRM_BUS_KEY_FILE"])
            return lambda: pool.call("identity", "login", {"email": EMAIL, "password": PASSWORD})

        run_load(worker, 2, 2)  # warm up
        figures = run_load(worker, THREADS, SECONDS)
        show(f"login RPC ({THREADS} callers, one identity process)", figures)
        return figures
    finally:
        proc.stop()


def main() -> int:
    hashing = bench_hash_loop()
    vhost = Vhost().create()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-identity-") as tmp:
            login = bench_login(vhost, Path(tmp))
    finally:
        vhost.delete()
    print(f"logins per second per core: {login['per_s']:.1f}; bare argon2id verifications per second: "
          f"{hashing['per_s']:.1f}; ratio {login['per_s'] / hashing['per_s']:.2f} (1.00 = hashing is all it costs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
