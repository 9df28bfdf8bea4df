"""The gateway's hot paths against the thinnest Flask-over-nameko gateway, figures printed, nothing asserted.

(a) the baseline: a Flask app with one route making one RPC to the bare nameko echo service
    (echo_service.py) through the suite's RPC client (thin_gateway.py), under gunicorn 2 workers x 8
    threads (gthread), 16 kept-alive connections;
(b) the real gateway under gunicorn 2 x 8 (deploy/gunicorn.conf.py) with identity and sales running, each
    on a vhost and databases of its own (SQLite, then PostgreSQL), as a sales manager (team scope):
    GET /api/v1/me and GET /api/v1/leads?limit=50 (over 50 leads seeded) with 16 connections,
    POST /api/v1/leads with 8 clients (distinct leads, each with its own Idempotency-Key, as a web or
    mobile client sends them).

One load generator for every figure (common.KeepAliveClient on threads: raw HTTP/1.1 on kept-alive
connections, its CPU a few per cent of one core at these rates), so the ratios are fair. Rounds
alternate (a), /me, list, create, so that a machine that speeds up or slows down (shared cores) weighs
on all alike; a ratio is the median of the rounds' ratios. Targets: list >= 0.4, create >= 0.25.
Under each path: the CPU per request of identity, sales and the gateway (from /proc, less what they use
while (a) runs; a create's window runs on for a second, while identity audits its events), and on PostgreSQL
that of the database's backends serving the run's databases (`postgresql`); `broker` is the RabbitMQ node's on this
machine, less what it uses in a quiet half second before each round (other work on a shared broker). Under (a):
the thin gateway's, the echo service's and the broker's (not idle while (a) runs) CPU per echo call.

    python bench/run_all.py gateway_paths
    BENCH_BACKENDS=sqlite BENCH_ROUNDS=5 BENCH_ROUND_SECONDS=4 python bench/run_all.py gateway_paths

Each service is one nameko process (one core at most, like the baseline's echo service): a path whose
service is busier than the gateway is capped there. BENCH_SALES_REPLICAS=2 runs sales twice on its queue,
as a deployment scales out. The event queues of the services the bench does not run (bootstrapped like `make
run`, they take a copy of each lead's events): BENCH_ABSENT_CONSUMERS=keep (the default) leaves them unread, a
backlog growing for the whole run; `drain` consumes and acks them in one stand-in process (drain_queues.py, its
CPU shown as `consumers`), as the suite's own consumers would; `drop` deletes them, to see what a backlog costs
the broker.
"""
from __future__ import annotations

import collections
import contextlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RATE_LIMITS, KeepAliveClient, figures, merge  # noqa: E402
from echo_baseline import baseline, wait_http  # noqa: E402
from proc_cpu import Broker, PgBackends, group_seconds, process_seconds  # noqa: E402
from crm_common import config  # noqa: E402
from crm_common.testing.harness import PG_ADMIN_DSN, PgDatabases, Vhost  # noqa: E402
from crm_common.ports import free_port  # noqa: E402

BACKENDS = [b for b in os.environ.get("BENCH_BACKENDS", "sqlite,postgresql").split(",") if b]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
ROUND_SECONDS = float(os.environ.get("BENCH_ROUND_SECONDS", "3"))
SALES_REPLICAS = int(os.environ.get("BENCH_SALES_REPLICAS", "1"))  # nameko processes of sales on its queues
ABSENT_CONSUMERS = os.environ.get("BENCH_ABSENT_CONSUMERS", "keep")  # or "drain", "drop" (see the module doc)
READERS = int(os.environ.get("BENCH_READERS", "16"))
WRITERS = int(os.environ.get("BENCH_WRITERS", "8"))
SEEDED = 60
TARGETS = {"list": 0.4, "create": 0.25}
ADMIN_EMAIL, ADMIN_PASSWORD = "bench-paths@crm.test", "Bench-Paths-Passw0rd-2026!"
PROCESSES = ("identity", "sales", "gateway")


@contextlib.contextmanager
def gateway_stack(backend: str, tmp: Path):
    """(b): identity, sales and the gateway (2 x 8) on a vhost (and, for PostgreSQL, databases) of their
    own, bootstrapped like `make run` (keys, migrations, queues, broker users, the admin); yields
    (port, admin ApiClient)."""
    from crm_common.suite import Suite
    from crm_common.testing.client import ApiClient

    vhost = Vhost().create()
    pg = None
    var = tmp / backend
    env = {"AMQP_URI": vhost.uri, "CRM_VAR_DIR": str(var), "CRM_PORT": str(free_port()),
           "CRM_ADMIN_EMAIL": ADMIN_EMAIL, "CRM_ADMIN_PASSWORD": ADMIN_PASSWORD,
           "CRM_GATEWAY_WORKERS": "2", "CRM_GATEWAY_THREADS": "8", **RATE_LIMITS}
    if backend == "postgresql":
        pg = PgDatabases(list(config.SERVICES) + ["gateway"], prefix=f"bench_paths_{os.getpid()}").create()
        for name in pg.services:
            env[f"{name.upper()}_DATABASE_URL"] = pg.url(name)
    suite = Suite(env=env, quiet=True, log_dir=var / "logs")
    try:
        suite.bootstrap()
        if ABSENT_CONSUMERS == "drop":
            _drop_absent_consumers(vhost.uri)
        _start(suite, var / "logs")
        if ABSENT_CONSUMERS == "drain":
            with open(var / "logs" / "consumers.log", "ab") as log:
                suite.procs["consumers"] = subprocess.Popen(
                    [sys.executable, str(Path(__file__).with_name("drain_queues.py")), vhost.uri, *_absent_queues()],
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_http(suite.port, "/healthz", 60, procs=list(suite.procs.values()))
        admin = _login(ApiClient(f"http://127.0.0.1:{suite.port}"), suite)
        admin.suite = suite
        admin.pg_prefix = pg.prefix if pg is not None else None
        yield suite.port, admin
    finally:
        suite.stop()
        suite.remove_broker_users()
        vhost.delete()
        if pg is not None:
            pg.drop()


def _drop_absent_consumers(uri: str) -> None:
    """Delete the event queues of the services this bench does not start (BENCH_ABSENT_CONSUMERS=drop)."""
    from kombu import Connection

    with Connection(uri) as conn:
        channel = conn.channel()
        for queue in _absent_queues():
            channel.queue_delete(queue)


def _absent_queues() -> list[str]:
    """The event queues of the services this bench does not start."""
    from crm_common import topology
    return [topology.queue_name(service) for service in config.SERVICES if service not in PROCESSES]


def _start(suite, log_dir: Path) -> None:
    """Suite.start for identity, sales and the gateway, their output to files (not piped through this
    process, whose CPU is the load generator's)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**suite.env, "CRM_PORT": str(suite.port), "CRM_BIND": suite.bind, "PYTHONWARNINGS": "ignore"}
    commands = suite.commands()
    replicas = [(name, name) for name in PROCESSES] + [(f"sales-{n}", "sales") for n in range(2, SALES_REPLICAS + 1)]
    for name, process in replicas:
        own = {"AMQP_URI": suite.broker_uris[process]} if process in suite.broker_uris else {}
        with open(log_dir / f"{name}.log", "ab") as log:
            suite.procs[name] = subprocess.Popen(commands[process], env={**env, **own}, cwd=suite.root, stdout=log,
                                                 stderr=subprocess.STDOUT, start_new_session=True)


def _login(client, suite, timeout: float = 60):
    deadline = time.time() + timeout
    while True:
        try:
            return client.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        except Exception:
            if time.time() > deadline:
                raise
            for name, proc in suite.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode} while starting") from None
            time.sleep(0.5)


def seed(admin) -> object:
    """A sales manager of a team of their own, with SEEDED leads of that team; returns the manager's client."""
    team = admin.post("/api/v1/teams", json={"name": f"Bench team {uuid.uuid4().hex[:6]}"})
    assert team.status_code == 201, team.text
    manager = admin.as_new_user(["sales_manager"], team_id=team.json()["id"])
    deadline = time.time() + 30
    for i in range(SEEDED):
        while True:  # sales learns of the new user by its event: wait for it on the first lead
            response = manager.post("/api/v1/leads", json=lead_body(i, "seed"))
            if response.status_code == 201 or time.time() > deadline:
                break
            time.sleep(0.3)
        assert response.status_code == 201, response.text
    listed = manager.get("/api/v1/leads", params={"limit": 50})
    assert listed.status_code == 200 and len(listed.json()["items"]) == 50, listed.text[:500]
    return manager


def lead_body(n: int, tag: str) -> dict:
    return {"first_name": "Bench", "last_name": f"Lead{n}", "company": f"Bench {tag} {n}",
            "email": f"lead{n}.{tag}@bench-example.com", "phone": f"+4930{n % 10**8:08d}", "country": "DE",
            "industry": "software"}


# -- load -----------------------------------------------------------------------------------------

def load(make_call, connections: int, seconds: float) -> dict:
    """`make_call(client)` per connection gives a callable returning the status; hammer for `seconds`."""
    latencies: list[float] = []
    failures: collections.Counter = collections.Counter()
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def loop():
        call = make_call()
        local, bad = [], collections.Counter()
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                ok = call()
            except Exception as exc:  # a broken connection: counted, and the next call reconnects
                ok = type(exc).__name__
            if ok is True:
                local.append(time.perf_counter() - started)
            else:
                bad[ok] += 1
        with lock:
            latencies.extend(local)
            failures.update(bad)

    workers = [threading.Thread(target=loop) for _ in range(connections)]
    began = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    result = figures(latencies, sum(failures.values()), time.monotonic() - began)
    result["why"] = dict(failures)
    return result


def getter(port: int, path: str, token: str | None = None):
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    raw = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}\r\n".encode()

    def make_call():
        client = KeepAliveClient("127.0.0.1", port)

        def call():
            try:
                status, _ = client.send(raw)
            except Exception:
                client.close()
                raise
            return True if status == 200 else status
        return call
    return make_call


def creator(port: int, token: str, tag: str):
    numbers = itertools.count(SEEDED)  # after the seeded leads: a phone they have would be a duplicate (409)

    def make_call():
        client = KeepAliveClient("127.0.0.1", port)

        def call():
            n = next(numbers)
            body = json.dumps(lead_body(n, tag)).encode()
            head = (f"POST /api/v1/leads HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
                    f"Content-Type: application/json\r\nIdempotency-Key: {tag}-{n}\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()
            try:
                status, _ = client.send(head + body)
            except Exception:
                client.close()
                raise
            return True if status == 201 else status
        return call
    return make_call


BROKER_GAP = 0.5  # seconds of quiet before each round, to measure what else the broker is doing
SETTLE = 1.0  # seconds after a create round in its CPU window: identity audits the round's events after the replies


def show(name: str, result: dict, ratio: float | None = None, target: float | None = None) -> None:
    line = (f"{name:<40} {result['per_s']:>7.0f} req/s  p50 {result['p50_ms']:>7.1f} ms  p99 {result['p99_ms']:>7.1f} ms"
            f"  ({result['calls']} calls, {result['errors']} errors{' ' + str(result['why']) if result['why'] else ''})")
    if ratio is not None:
        line += f"  ratio {ratio:.2f}" + (f" (target >= {target})" if target else "")
    print(line, flush=True)


def merged(rounds: list[dict]) -> dict:
    result = merge(rounds)
    why: collections.Counter = collections.Counter()
    for r in rounds:
        why.update(r["why"])
    result["why"] = dict(why)
    return result


def bench_backend(backend: str, tmp: Path, base_port: int, base_pids: dict[str, int]) -> dict:
    with gateway_stack(backend, tmp) as (port, admin):
        manager = seed(admin)
        tag = uuid.uuid4().hex[:8]
        paths = {"(a) thin gateway, echo RPC": (getter(base_port, "/echo"), READERS),
                 "GET /api/v1/me": (getter(port, "/api/v1/me", manager.token), READERS),
                 "GET /api/v1/leads?limit=50": (getter(port, "/api/v1/leads?limit=50", manager.token), READERS),
                 f"POST /api/v1/leads ({WRITERS} clients)": (creator(port, manager.token, tag), WRITERS)}
        for make_call, connections in paths.values():  # warm up: connections, caches, compiled statements
            load(make_call, connections, 1.5)
        rounds: dict[str, list[dict]] = {name: [] for name in paths}
        groups = {name: admin.suite.procs[name].pid for name in (*PROCESSES, "consumers") if name in admin.suite.procs}
        backends = PgBackends(admin.pg_prefix, PG_ADMIN_DSN) if admin.pg_prefix else None
        broker = Broker.find()

        def used() -> dict[str, float]:
            seconds = group_seconds({**groups, "thin gateway": base_pids["thin gateway"]})  # (a)'s, shown under (a)
            seconds["echo"] = process_seconds(base_pids["echo"])
            if broker is not None:
                seconds["broker"] = broker.seconds()
            if backends is not None:
                seconds["postgresql"] = backends.seconds()
            return seconds
        cpu = {name: collections.Counter() for name in paths}  # CPU seconds of our processes in each path's rounds
        window = collections.Counter()  # and those rounds' seconds
        for number in range(1, ROUNDS + 1):
            for n, (name, (make_call, connections)) in enumerate(paths.items()):
                if broker is not None:  # a quiet gap before each round: the broker's other work
                    broker.quiet(BROKER_GAP)
                before, began = used(), time.monotonic()
                rounds[name].append(load(make_call, connections, ROUND_SECONDS))
                if n == len(paths) - 1:
                    time.sleep(SETTLE)
                cpu[name].update({k: v - before[k] for k, v in used().items()})
                window[name] += time.monotonic() - began
            print(f"    round {number}: " + ", ".join(f"{r[-1]['per_s']:.0f}/s" for r in rounds.values()), flush=True)
        if backends is not None:
            backends.close()
        base_name = next(iter(paths))
        idle = {k: v / window[base_name] for k, v in cpu[base_name].items()}  # our processes' CPU/s while (a) runs
        if broker is not None:  # not idle while (a) runs (its echo calls are (a)'s): less its use in the quiet gaps
            idle["broker"] = broker.background()
        print(f"{backend}:", flush=True)
        show(base_name, merged(rounds[base_name]))
        base_calls = max(1, merged(rounds[base_name])["calls"])
        print(f"{'':<40} CPU per request: " + ", ".join(
            f"{k} {(cpu[base_name][k] - idle[k] * window[base_name] if k == 'broker' else cpu[base_name][k]) * 1000 / base_calls:.2f} ms"
            for k in ("thin gateway", "echo", "broker") if k in cpu[base_name])
            + (f" (the broker's less {idle['broker'] * 1000:.0f} ms a second, its use in the gaps)" if broker else ""), flush=True)
        result = {"baseline": merged(rounds[base_name])}
        for (name, values), key in zip(list(rounds.items())[1:], ("me", "list", "create")):
            ratios = sorted(b["per_s"] / a["per_s"] for a, b in zip(rounds[base_name], values))
            result[key] = {**merged(values), "ratio": statistics.median(ratios), "ratios": ratios}
            show(name, result[key], result[key]["ratio"], TARGETS.get(key))
            calls = max(1, result[key]["calls"])
            result[key]["cpu_ms"] = {k: (v - idle[k] * window[name]) * 1000 / calls for k, v in cpu[name].items()
                                     if k not in ("thin gateway", "echo")}
            print(f"{'':<40} CPU per request (less their idle use): " + ", ".join(
                f"{k} {v:.2f} ms" for k, v in result[key]["cpu_ms"].items()), flush=True)
        return result


def main() -> int:
    print(f"{len(BACKENDS)} backend(s), {ROUNDS} rounds of {ROUND_SECONDS:.0f} s per figure, {READERS} connections "
          f"for reads, {WRITERS} for creates, {SALES_REPLICAS} sales process(es); ratio = median over rounds of "
          f"figure / (a) in the same round; event queues of absent consumers: {ABSENT_CONSUMERS}", flush=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-paths-") as raw:
        tmp = Path(raw)
        with baseline(tmp) as (base_port, base_pids):
            for backend in BACKENDS:
                results[backend] = bench_backend(backend, tmp, base_port, base_pids)
    print("\nsummary (req/s; ratio to (a) in the same rounds)")
    print(f"{'backend':<12} {'(a) echo':>9} {'/me':>14} {'list of 50':>16} {'create':>16}")
    for backend, r in results.items():
        cells = [f"{r[k]['per_s']:>6.0f} ({r[k]['ratio']:.2f})" for k in ("me", "list", "create")]
        print(f"{backend:<12} {r['baseline']['per_s']:>9.0f} {cells[0]:>14} {cells[1]:>16} {cells[2]:>16}")
    for key, target in TARGETS.items():
        worst = min(r[key]["ratio"] for r in results.values())
        print(f"{key}: worst ratio {worst:.2f}, target >= {target}: {'met' if worst >= target else 'not met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
