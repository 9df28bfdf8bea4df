"""Platform benchmarks (issue 2), figures printed, nothing asserted:

(a) a bare nameko echo RPC: throughput, p50, p99 (the baseline);
(b) the gateway's authenticated read of one record end to end (GET /api/v1/me through gunicorn,
    JWT verification, RPC to identity and its database), as a ratio to (a) — target >= 0.8. Its load
    comes from a minimal kept-alive HTTP client (common.KeepAliveClient): with `requests` the load
    generator itself took a fifth of the machine's CPU, which measured the client, not the gateway;
(c) propagation latency from commit in one service to the effect in another at 200 events/s —
    target p99 <= 100 ms.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests  # noqa: E402

from common import KeepAliveClient, percentile, run_load, show  # noqa: E402
from crm_common.rpcclient import RpcPool  # noqa: E402
from crm_common.testing.harness import ServiceProcess, Vhost  # noqa: E402

THREADS = int(os.environ.get("BENCH_THREADS", "8"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
ROOT = Path(__file__).resolve().parent.parent


def bench_echo(vhost: Vhost, tmp: Path) -> dict:
    """(a) bare nameko: nameko's own standalone RPC proxy calling a nameko service with no extensions.
    Beside it (a') the same echo through the suite's RPC client (crm_common.rpcclient, what the
    gateway uses), for reference."""
    from nameko.standalone.rpc import ClusterRpcProxy
    env = {"AMQP_URI": vhost.uri, "CRM_VAR_DIR": str(tmp), "PYTHONPATH": str(ROOT / "bench")}
    proc = ServiceProcess("echo_service:EchoService", env, tmp, name="bench_echo").start()
    try:
        proc.wait_ready("bench_echo")
        proxies = []

        def bare_worker():
            runner = ClusterRpcProxy({"AMQP_URI": vhost.uri}, timeout=10)
            proxies.append(runner)
            proxy = runner.start()
            return lambda: proxy.bench_echo.echo("x")

        def suite_worker():
            pool = RpcPool(vhost.uri, timeout=10, size=1)
            return lambda: pool.call("bench_echo", "echo", "x")

        try:
            run_load(bare_worker, 2, 2)  # warm up
            figures = run_load(bare_worker, THREADS, SECONDS)
        finally:
            for runner in proxies:
                runner.stop()
        show("(a) bare nameko echo RPC (nameko's proxy)", figures)
        run_load(suite_worker, 2, 2)
        show("(a') the same echo through crm_common's RPC client", run_load(suite_worker, THREADS, SECONDS))
        return figures
    finally:
        proc.stop()


def bench_gateway_read(vhost: Vhost, tmp: Path) -> dict | None:
    from crm_common.suite import Suite
    port = 18080
    env = {"AMQP_URI": vhost.uri, "CRM_VAR_DIR": str(tmp / "suite"), "CRM_PORT": str(port),
           "CRM_ADMIN_EMAIL": "bench@crm.test", "CRM_ADMIN_PASSWORD": "Bench-Passw0rd-2026!"}
    suite = Suite(env=env, quiet=True, log_dir=tmp / "suite-logs")
    try:
        suite.bootstrap()
        suite.start()
        suite.wait_ready(90)
        base = f"http://127.0.0.1:{port}"
        login = requests.post(f"{base}/api/v1/auth/login",
                              json={"email": env["CRM_ADMIN_EMAIL"], "password": env["CRM_ADMIN_PASSWORD"]})
        if login.status_code != 200:
            print(f"(b) skipped: login answered {login.status_code}")
            return None
        token = login.json()["access_token"]

        def worker():
            client = KeepAliveClient("127.0.0.1", port)
            request = (f"GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                       f"Authorization: Bearer {token}\r\n\r\n").encode()

            def call():
                status, _ = client.send(request)
                if status != 200:
                    raise RuntimeError(status)
            return call

        run_load(worker, 2, 2)
        figures = run_load(worker, THREADS, SECONDS)
        show("(b) gateway authenticated read (GET /me)", figures)
        return figures
    finally:
        suite.stop()


def bench_propagation(vhost: Vhost, tmp: Path, rate: float = 200, seconds: float = 10) -> dict:
    from crm_common.db import make_engine
    from crm_common.testing import probe
    env = {"AMQP_URI": vhost.uri, "CRM_VAR_DIR": str(tmp), "CRM_EXTRA_SUBSCRIPTIONS": "probe_consumer=probe_producer",
           "PROBE_PRODUCER_DATABASE_URL": f"sqlite:///{tmp}/producer.db",
           "PROBE_CONSUMER_DATABASE_URL": f"sqlite:///{tmp}/consumer.db"}
    for key in ("PROBE_PRODUCER_DATABASE_URL", "PROBE_CONSUMER_DATABASE_URL"):
        probe.Base.metadata.create_all(make_engine(env[key]))
    producer = ServiceProcess("crm_common.testing.probe:ProbeProducer", env, tmp, name="probe_producer").start()
    consumer = ServiceProcess("crm_common.testing.probe:ProbeConsumer", env, tmp, name="probe_consumer").start()
    try:
        producer.wait_ready("probe_producer")
        consumer.wait_ready("probe_consumer")
        import threading
        pools = [RpcPool(vhost.uri, timeout=10, size=1) for _ in range(12)]
        total = int(rate * seconds)
        interval = 1.0 / rate
        start = time.monotonic()

        def send(index):
            pool = pools[index]
            for n in range(index, total, len(pools)):
                delay = start + n * interval - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.call("probe_producer", "write", "latency", n)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(pools))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sent_per_s = total / (time.monotonic() - start)
        deadline = time.time() + 30
        times = []
        while time.time() < deadline:
            times = pools[0].call("probe_consumer", "applied_times", "latency")
            if len(times) >= total:
                break
            time.sleep(0.5)
        from datetime import datetime
        lat = [(datetime.fromisoformat(b) - datetime.fromisoformat(a.replace("Z", "+00:00"))).total_seconds()
               for a, b in times]
        figures = {"sent_per_s": sent_per_s, "applied": len(times), "p50_ms": percentile(lat, 50) * 1000,
                   "p99_ms": percentile(lat, 99) * 1000}
        print(f"(c) propagation commit -> effect at {sent_per_s:.0f} events/s: p50 {figures['p50_ms']:.1f} ms, "
              f"p99 {figures['p99_ms']:.1f} ms ({len(times)}/{total} applied; target p99 <= 100 ms)", flush=True)
        return figures
    finally:
        producer.stop()
        consumer.stop()


def main() -> int:
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        vhost = Vhost().create()
        try:
            echo = bench_echo(vhost, tmp)
            gateway = bench_gateway_read(vhost, tmp)
            if gateway:
                print(f"    ratio (b)/(a) = {gateway['per_s'] / echo['per_s']:.2f}  (target >= 0.8)")
        finally:
            vhost.delete()
        if os.environ.get("BENCH_PLATFORM_SKIP_C"):
            return 0
        vhost = Vhost().create()
        try:
            bench_propagation(vhost, tmp / "prop" if (tmp / "prop").mkdir() is None else tmp)
        finally:
            vhost.delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
