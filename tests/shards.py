"""`make test`: the whole test suite in three shards at once (conftest's `_shard_of`).

The SQLite and PostgreSQL shards run the tests run once per backend (the integration and end-to-end tests
over a suite, a database or the broker), each on its backend; the third shard runs every test run once: the
unit tests (no broker, no database server) and the tests that start services of their own (the supervisor,
`make run`, replicas killed, some on PostgreSQL alone). Each shard has its own vhosts, databases, ports and
temporary folder, so they share nothing but the machine; much of a service test's time is spent waiting on a
broker, a database or a process it killed, so the shards fit two cores. Lines are printed as they come,
prefixed with the shard's name; the exit code is the worst of them. One backend alone, every test in one
pytest: CRM_TEST_BACKENDS=sqlite python -m pytest.

    python tests/shards.py [pytest arguments for every shard]
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARDS = {name: {"CRM_TEST_BACKENDS": backends, "CRM_TEST_SHARD": name, "CRM_TEST_EXCLUSIVE": "skip"}
          for name, backends in (("sqlite", "sqlite"), ("postgresql", "postgresql"), ("once", "sqlite,postgresql"))}
ALONE = {"CRM_TEST_EXCLUSIVE": "only"}  # then the tests marked `exclusive` (they restart the broker), on both


def _pump(name: str, proc: subprocess.Popen, lock: threading.Lock) -> None:
    for line in iter(proc.stdout.readline, ""):
        with lock:
            sys.stdout.write(f"{name:>10} | {line}")
            sys.stdout.flush()


def _run_at_once(runs: dict[str, dict], base: Path, args: list[str], lock: threading.Lock) -> dict[str, int]:
    """Each named pytest run with its own environment and temp folder, all at once: their exit codes."""
    procs, pumps = {}, []
    for name, env in runs.items():
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", "pytest", f"--basetemp={base / name}", *args], cwd=ROOT,
            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        pumps.append(threading.Thread(target=_pump, args=(name, procs[name], lock), daemon=True))
        pumps[-1].start()
    codes = {name: proc.wait() for name, proc in procs.items()}
    for pump in pumps:
        pump.join()
    return codes


def main(args: list[str]) -> int:
    chosen = [b for b in os.environ.get("CRM_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]
    if len(chosen) == 1:  # one backend asked for: one pytest, every test on it
        return subprocess.call([sys.executable, "-m", "pytest", *args], cwd=ROOT)
    started, lock = time.time(), threading.Lock()
    base = Path(tempfile.mkdtemp(prefix="crm-tests-"))
    codes = _run_at_once(SHARDS, base, args, lock)
    codes.update(_run_at_once({"exclusive": ALONE}, base, args, lock))
    # pytest: 0 passed, 5 nothing collected (a shard a selection left empty); anything else failed (a shard
    # killed by a signal has a negative code)
    worst = max((abs(code) for code in codes.values() if code != 5), default=0)
    print("\nshards: " + ", ".join(f"{name} exit {code}" for name, code in codes.items())
          + f"; {time.time() - started:.0f} s in all", flush=True)
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
