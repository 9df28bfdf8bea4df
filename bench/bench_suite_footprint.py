"""The whole suite's memory and start time (issue 18, item 10), figures printed, nothing asserted:

(a) start: a first start (fresh var/: keys, migrations, seed) and a second one on the same var/ (what a second
    `make run` does), each from nothing running to /readyz answering 200 -- target: the second under 5 s;
    baseline: the start of one bare nameko service (bench/echo_service.py) to its first answer, measured in
    the same run (the floor any service process pays: interpreter, eventlet, nameko, broker connection);
(b) resident memory of every process the suite runs (gunicorn's master and workers counted), idle after the
    second start, again after BENCH_FOOTPRINT_WRITES creates and as many reads through the gateway
    (10,000 each by default), and after BENCH_FOOTPRINT_LOGINS logins (200; identity's argon2 hashes) -- target: at most 1 GB in all; per process, so a part that grows shows; PSS
    (shared pages divided among the processes sharing them) beside RSS, which counts them in every process;
    baseline: the RSS of the bare nameko service, and that times the suite's service processes.
SQLite (the embedded default of `make run`). BENCH_FOOTPRINT_START_ONLY=1 stops after (a) and the idle memory (a
start measured alone, old and new code in turn, without the minutes of load).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests  # noqa: E402

from common import RATE_LIMITS  # noqa: E402
from crm_common.suite import SERVICE_TARGETS, Suite  # noqa: E402
from crm_common.testing.harness import ServiceProcess, Vhost  # noqa: E402

WRITES = int(os.environ.get("BENCH_FOOTPRINT_WRITES", "10000"))
LOGINS = int(os.environ.get("BENCH_FOOTPRINT_LOGINS", "200"))
START_ONLY = os.environ.get("BENCH_FOOTPRINT_START_ONLY", "") not in ("", "0")
THREADS = int(os.environ.get("BENCH_THREADS", "8"))
MIB = 1024 * 1024
TARGET_BYTES = 1024 * MIB
TARGET_START = 5.0


def _kib(path: Path, field: str) -> int:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def group_memory(leader: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes of every live process in the process group `leader` leads."""
    rss = pss = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != leader:
                continue
        except OSError:
            continue
        rss += _kib(entry / "status", "VmRSS")
        pss += _kib(entry / "smaps_rollup", "Pss")
    return rss, pss


def group_cpu(leader: int) -> float:
    """CPU seconds (user + system) the live processes of the group `leader` leads have used."""
    ticks, per_second = 0, os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != leader:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / per_second


def parts(suite: Suite) -> dict[str, int]:
    """Every live process group of the suite by name: its processes and the fork server the services came from."""
    found = {name: proc.pid for name, proc in suite.procs.items() if proc.poll() is None}
    server = getattr(suite, "forkserver", None)  # (none before the fork server: the same bench measures both)
    if server is not None and server.proc.poll() is None:
        found["forkserver"] = server.proc.pid
    return found


def show_start_cpu(suite: Suite) -> None:
    """Where a start's time goes on a shared machine: the CPU each process used to get ready."""
    used = {name: group_cpu(pid) for name, pid in parts(suite).items()}
    print(f"    CPU used to get ready: {sum(used.values()):.1f} s in all (" + ", ".join(
        f"{name} {seconds:.1f}" for name, seconds in sorted(used.items(), key=lambda item: -item[1])) + ")",
          flush=True)


def memory(suite: Suite) -> dict[str, tuple[int, int]]:
    return {name: group_memory(pid) for name, pid in parts(suite).items()}


def show_memory(title: str, parts: dict[str, tuple[int, int]], before: dict | None = None) -> int:
    rss = sum(r for r, _ in parts.values())
    pss = sum(p for _, p in parts.values())
    print(f"{title}: RSS {rss / MIB:.0f} MiB, PSS {pss / MIB:.0f} MiB  (target <= {TARGET_BYTES / MIB:.0f} MiB RSS: "
          f"{'met' if rss <= TARGET_BYTES else 'NOT met'}; ratio to target {rss / TARGET_BYTES:.2f})", flush=True)
    for name, (r, p) in sorted(parts.items(), key=lambda item: -item[1][0]):
        grew = f"  (+{(r - before[name][0]) / MIB:.0f} MiB)" if before and name in before else ""
        print(f"    {name:<14} RSS {r / MIB:6.0f} MiB  PSS {p / MIB:6.0f} MiB{grew}", flush=True)
    return rss


def started(env: dict, tmp: Path) -> tuple[Suite, float, float, bool]:
    """A suite started as `make run` does: (suite, seconds to ready, of which the bootstrap: broker check,
    keys, migrations, queues, admin; whether the bootstrap was skipped, nothing having changed since the last
    start)."""
    began = time.perf_counter()
    suite = Suite(env=env, quiet=True, log_dir=tmp / "logs")
    info = suite.bootstrap()
    booted = time.perf_counter()
    suite.start()
    suite.wait_ready(120)
    return suite, time.perf_counter() - began, booted - began, bool(info.get("skipped"))


def bare_service(vhost: Vhost, tmp: Path) -> tuple[float, int]:
    """The baseline: one bare nameko service's start to its first answer, and its RSS then."""
    env = {"AMQP_URI": vhost.uri, "CRM_VAR_DIR": str(tmp), "PYTHONPATH": str(Path(__file__).resolve().parent)}
    began = time.perf_counter()
    proc = ServiceProcess("echo_service:EchoService", env, tmp, name="bench_echo").start()
    try:
        proc.wait_ready("bench_echo", timeout=60)
        return time.perf_counter() - began, _kib(Path(f"/proc/{proc.proc.pid}/status"), "VmRSS")
    finally:
        proc.stop()


def load(port: int, env: dict) -> tuple[int, int, float]:
    """WRITES lead creates, then a read of each; (created, read, seconds)."""
    base = f"http://127.0.0.1:{port}"
    token = requests.post(f"{base}/api/v1/auth/login", json={"email": env["CRM_ADMIN_EMAIL"],
                                                              "password": env["CRM_ADMIN_PASSWORD"]}).json()["access_token"]
    run = uuid.uuid4().hex[:6]

    def session():
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        return http

    done = [0]

    def progress(what: str) -> None:  # a line every 1,000 calls, so a long load shows it moves
        done[0] += 1
        if done[0] % 1000 == 0:
            print(f"    ... {done[0]} calls ({what})", flush=True)

    def create(chunk):
        http, ids = session(), []
        for i in chunk:
            progress("creates")
            made = http.post(f"{base}/api/v1/leads", json={"last_name": f"Bench {i}", "company": f"Bench {run} {i}",
                                                           "email": f"bench.{run}.{i}@example.com"}, timeout=60)
            if made.status_code == 201:
                ids.append(made.json()["id"])
        return ids

    def read(chunk):
        http, found = session(), 0
        for lead_id in chunk:
            progress("reads")
            found += http.get(f"{base}/api/v1/leads/{lead_id}", timeout=60).status_code == 200
        return found

    began = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        ids = [i for part in pool.map(create, [range(n, WRITES, THREADS) for n in range(THREADS)]) for i in part]
        reads = sum(pool.map(read, [ids[n::THREADS] for n in range(THREADS)]))
    return len(ids), reads, time.perf_counter() - began


def logins(port: int, env: dict) -> tuple[int, float]:
    """LOGINS password logins from THREADS clients at once (each an argon2 hash in identity); (answered 200, s)."""
    body = {"email": env["CRM_ADMIN_EMAIL"], "password": env["CRM_ADMIN_PASSWORD"]}

    def login(_):
        return requests.post(f"http://127.0.0.1:{port}/api/v1/auth/login", json=body, timeout=60).status_code == 200

    began = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        return sum(pool.map(login, range(LOGINS))), time.perf_counter() - began


def main() -> int:
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        vhost = Vhost().create()
        try:
            base_start, base_rss = bare_service(vhost, tmp / "bare")
            print(f"baseline: a bare nameko service starts in {base_start:.2f} s, RSS {base_rss / MIB:.0f} MiB; "
                  f"{len(SERVICE_TARGETS)} of them: {len(SERVICE_TARGETS) * base_rss / MIB:.0f} MiB", flush=True)
            env = {"AMQP_URI": vhost.uri, "CRM_VAR_DIR": str(tmp / "var"), "CRM_PORT": "18081",
                   "CRM_ADMIN_EMAIL": "bench@crm.test", "CRM_ADMIN_PASSWORD": "Bench-Passw0rd-2026!", **RATE_LIMITS,
                   "CRM_LOGIN_ADDRESS_LIMIT": "100000"}
            print(f"load average of the machine: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)", flush=True)
            suite, first, first_boot, _ = started(env, tmp)
            suite.stop()  # as Ctrl-C stops `make run`: its broker users stay for the next start
            suite, second, second_boot, skipped = started(env, tmp)
            try:
                print(f"(a) start to ready: first {first:.1f} s (fresh var/), second {second:.1f} s  (target second "
                      f"< {TARGET_START:.0f} s: {'met' if second < TARGET_START else 'NOT met'}; ratio to the bare "
                      f"service's start {second / base_start:.1f}); of which the bootstrap (broker users, keys, "
                      f"migrations, queues, admin): {first_boot:.1f} s and {second_boot:.1f} s"
                      f"{' (skipped: nothing changed)' if skipped else ''}", flush=True)
                show_start_cpu(suite)
                time.sleep(5)  # settled: the first timers have run
                idle = memory(suite)
                rss = show_memory("(b) idle", idle)
                print(f"    ratio to {len(SERVICE_TARGETS)} bare nameko services: "
                      f"{rss / (len(SERVICE_TARGETS) * base_rss):.2f}", flush=True)
                if START_ONLY:
                    return 0
                created, reads, seconds = load(suite.port, env)
                time.sleep(5)
                print(f"    load: {created} creates and {reads} reads in {seconds:.0f} s", flush=True)
                loaded = memory(suite)
                show_memory(f"(b) after {created} creates and {reads} reads", loaded, idle)
                signed_in, seconds = logins(suite.port, env)
                time.sleep(2)
                show_memory(f"(b) and after {signed_in} logins more ({THREADS} at once, {seconds:.0f} s)", memory(suite),
                            loaded)
            finally:
                suite.stop()
                suite.remove_broker_users()
        finally:
            vhost.delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
