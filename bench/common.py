"""Helpers shared by the benchmarks: load loops and percentiles."""
from __future__ import annotations

import os
import statistics
import threading
import time

# The gateway's rate limits, set out of a benchmark's way unless given (its load is one caller, one address);
# REDIS_URL from the environment puts the counters in Redis.
RATE_LIMITS = {name: os.environ.get(name, "100000000/minute")
               for name in ("CRM_RATE_LIMIT", "CRM_RATE_LIMIT_ANONYMOUS", "CRM_RATE_LIMIT_READYZ")}


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(pct / 100 * (len(ordered) - 1)))))
    return ordered[index]


def run_load(make_worker, threads: int, seconds: float) -> dict:
    """Call `make_worker()` once per thread to get a no-argument callable; hammer it for `seconds`."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def loop():
        call = make_worker()
        local, failures = [], 0
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                call()
                local.append(time.perf_counter() - started)
            except Exception:
                failures += 1
        with lock:
            latencies.extend(local)
            errors[0] += failures

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    began = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return figures(latencies, errors[0], time.monotonic() - began)


def figures(latencies: list[float], errors: int, elapsed: float) -> dict:
    return {"calls": len(latencies), "errors": errors, "per_s": len(latencies) / elapsed, "elapsed": elapsed,
            "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
            "mean_ms": (statistics.fmean(latencies) * 1000) if latencies else float("nan"),
            "latencies": latencies}


def merge(rounds: list[dict]) -> dict:
    """The figures of several run_load rounds taken together."""
    return figures([x for r in rounds for x in r["latencies"]], sum(r["errors"] for r in rounds),
                   sum(r["elapsed"] for r in rounds))


def show(name: str, figures: dict) -> None:
    print(f"{name:<44} {figures['per_s']:>9.0f}/s  p50 {figures['p50_ms']:>7.2f} ms  "
          f"p99 {figures['p99_ms']:>7.2f} ms  ({figures['calls']} calls, {figures['errors']} errors)", flush=True)


class KeepAliveClient:
    """A minimal HTTP/1.1 client on one kept-alive connection, for load loops: the request bytes are
    built once and the response read by Content-Length, so the figures are the server's, not a client
    library's (requests spends more CPU per call than the gateway's own HTTP handling)."""

    def __init__(self, host: str, port: int, timeout: float = 10):
        self.address, self.timeout = (host, port), timeout
        self.sock = None
        self.buffer = b""

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.address[0]}:{self.address[1]}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        return self.send(("\r\n".join(lines) + "\r\n\r\n").encode())

    def send(self, raw: bytes) -> tuple[int, bytes]:
        import socket
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""
        self.sock.sendall(raw)
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip()
        length = int(fields.get(b"content-length", b"0"))
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        if fields.get(b"connection", b"").lower() == b"close":
            self.close()
        return status, body

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            self.close()
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None


def staged(load, run, drop) -> int:
    """The command line of a bench over a database loaded by SQL: `load` (the kept database's URL printed),
    `run <url>`, `drop <url>`; with no argument (as `make bench` runs it) all three in turn: the figures printed,
    the database dropped after."""
    import sys
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what == "load":
        print(load())
        return 0
    if what in ("run", "drop"):
        return run(sys.argv[2]) if what == "run" else drop(sys.argv[2])
    url = load()
    try:
        return run(url)
    finally:
        drop(url)
