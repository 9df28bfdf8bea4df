"""Platform benchmarks (issue 2), figures printed, nothing asserted:

(a) a bare nameko echo RPC: throughput, p50, p99 (the baseline);
(b) the gateway's authenticated read of one record end to end (GET /api/v1/me through gunicorn,
    JWT verification, RPC to identity and its database), as a ratio to (a) — target >= 0.8. Its load
    comes from a minimal kept-alive HTTP client (common.KeepAliveClient): with `requests` the load
    generator itself took a fifth of the machine's CPU, which measured the client, not the gateway;
(c) propagation latency from commit in one service to the effect in another at 200 events/s —
    target p99 <= 100 ms. The probe producer drives the writes itself at the rate (open loop, each
    write its own transaction with its outbox event, published after commit), after a warm-up
    second; latency runs from the event's occurred_at (written in the transaction) to the consumer's
    commit of its effect.
"""
from __future__ import annotations

import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests  # noqa: E402

from common import RATE_LIMITS, KeepAliveClient, merge, percentile, run_load, show  # noqa: E402
from crm_common.rpcclient import RpcPool  # noqa: E402
from crm_common.testing.harness import ServiceProcess, Vhost  # noqa: E402

THREADS = int(os.environ.get("BENCH_THREADS", "8"))
ROOT = Path(__file__).resolve().parent.parent


ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
ROUND_SECONDS = float(os.environ.get("BENCH_ROUND_SECONDS", "4"))


@contextlib.contextmanager
def echo_service(vhost: Vhost, tmp: Path):
    """The baseline's service: a bare nameko service with one `echo` method and no extensions."""
    env = {"AMQP_URI": vhost.uri, "CRM_VAR_DIR": str(tmp), "PYTHONPATH": str(ROOT / "bench")}
    proc = ServiceProcess("echo_service:EchoService", env, tmp, name="bench_echo").start()
    try:
        proc.wait_ready("bench_echo")
        yield
    finally:
        proc.stop()


@contextlib.contextmanager
def running_suite(vhost: Vhost, tmp: Path):
    """The whole suite on the embedded defaults (SQLite), its seeded admin's port and access token."""
    from crm_common.suite import Suite
    port = 18080
    env = {"AMQP_URI": vhost.uri, "CRM_VAR_DIR": str(tmp / "suite"), "CRM_PORT": str(port),
           "CRM_ADMIN_EMAIL": "bench@crm.test", "CRM_ADMIN_PASSWORD": "Bench-Passw0rd-2026!", **RATE_LIMITS}
    suite = Suite(env=env, quiet=True, log_dir=tmp / "suite-logs")
    try:
        suite.bootstrap()
        suite.start()
        suite.wait_ready(90)
        login = requests.post(f"http://127.0.0.1:{port}/api/v1/auth/login",
                              json={"email": env["CRM_ADMIN_EMAIL"], "password": env["CRM_ADMIN_PASSWORD"]})
        login.raise_for_status()
        yield port, login.json()["access_token"]
    finally:
        suite.stop()
        suite.remove_broker_users()


def bench_echo_and_gateway(vhost: Vhost, tmp: Path) -> tuple[dict, dict]:
    """(a) and (b) in alternating rounds while the echo service and the whole suite both run, so a
    machine that speeds up or slows down during the run (shared cores) weighs on both alike; the
    ratio is the median of the rounds' ratios. (a') once, for reference."""
    from nameko.standalone.rpc import ClusterRpcProxy
    proxies = []

    def bare_worker():  # (a): nameko's own standalone RPC proxy
        runner = ClusterRpcProxy({"AMQP_URI": vhost.uri}, timeout=10)
        proxies.append(runner)
        proxy = runner.start()
        return lambda: proxy.bench_echo.echo("x")

    def suite_worker():  # (a'): the same echo through crm_common's RPC client, what the gateway uses
        pool = RpcPool(vhost.uri, timeout=10, size=1, key=bytes(32))  # signs as the gateway does; bare nameko ignores it
        return lambda: pool.call("bench_echo", "echo", "x")

    with echo_service(vhost, tmp), running_suite(vhost, tmp) as (port, token):
        def gateway_worker():  # (b): GET /api/v1/me with the admin's bearer token, one kept-alive connection
            client = KeepAliveClient("127.0.0.1", port)
            request = (f"GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                       f"Authorization: Bearer {token}\r\n\r\n").encode()

            def call():
                status, _ = client.send(request)
                if status != 200:
                    raise RuntimeError(status)
            return call

        try:
            run_load(bare_worker, 2, 2)  # warm up
            run_load(gateway_worker, 2, 2)
            echo_rounds, gateway_rounds = [], []
            for number in range(1, ROUNDS + 1):
                echo_rounds.append(run_load(bare_worker, THREADS, ROUND_SECONDS))
                gateway_rounds.append(run_load(gateway_worker, THREADS, ROUND_SECONDS))
                print(f"    round {number}: (a) {echo_rounds[-1]['per_s']:.0f}/s, (b) {gateway_rounds[-1]['per_s']:.0f}/s,"
                      f" ratio {gateway_rounds[-1]['per_s'] / echo_rounds[-1]['per_s']:.2f}", flush=True)
        finally:
            for runner in proxies:
                runner.stop()
        echo, gateway = merge(echo_rounds), merge(gateway_rounds)
        show("(a) bare nameko echo RPC (nameko's proxy)", echo)
        show("(b) gateway authenticated read (GET /me)", gateway)
        ratios = sorted(b["per_s"] / a["per_s"] for a, b in zip(echo_rounds, gateway_rounds))
        gateway["ratio"] = statistics.median(ratios)
        print(f"    ratio (b)/(a) = {gateway['ratio']:.2f}, median of {ROUNDS} rounds "
              f"({', '.join(f'{r:.2f}' for r in ratios)})  (target >= 0.8)", flush=True)
        run_load(suite_worker, 2, 2)
        show("(a') the echo through crm_common's RPC client", run_load(suite_worker, THREADS, ROUND_SECONDS))
    return echo, gateway


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
        # the writes are driven inside the producer, open loop (bench (b) measures the RPC path): a
        # closed-loop client waiting for each answer would send fewer events exactly when the system slows
        pool = RpcPool(vhost.uri, timeout=seconds + 60, size=1, key_file=producer.env["CRM_BUS_KEY_FILE"])
        # one second of the same load first, applied before measuring: a fresh process compiles its
        # statements and fills its caches on its first writes, which is start-up, not propagation
        pool.call("probe_producer", "drive", "warmup", int(rate), rate)
        deadline = time.time() + 30
        while len(pool.call("probe_consumer", "applied_times", "warmup")) < int(rate) and time.time() < deadline:
            time.sleep(0.2)
        total = int(rate * seconds)
        drove = pool.call("probe_producer", "drive", "latency", total, rate)
        sent_per_s = total / drove["seconds"]
        deadline = time.time() + 30
        times = []
        while time.time() < deadline:
            times = pool.call("probe_consumer", "applied_times", "latency")
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
            bench_echo_and_gateway(vhost, tmp)
        finally:
            vhost.delete()
        if os.environ.get("BENCH_PLATFORM_SKIP_C"):
            return 0
        vhost = Vhost().create()
        try:
            (tmp / "prop").mkdir()
            bench_propagation(vhost, tmp / "prop")
        finally:
            vhost.delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
