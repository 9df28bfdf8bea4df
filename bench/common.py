"""Helpers shared by the benchmarks: load loops and percentiles."""
from __future__ import annotations

import statistics
import threading
import time


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
    elapsed = time.monotonic() - began
    return {"calls": len(latencies), "errors": errors[0], "per_s": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
            "mean_ms": (statistics.fmean(latencies) * 1000) if latencies else float("nan")}


def show(name: str, figures: dict) -> None:
    print(f"{name:<44} {figures['per_s']:>9.0f}/s  p50 {figures['p50_ms']:>7.2f} ms  "
          f"p99 {figures['p99_ms']:>7.2f} ms  ({figures['calls']} calls, {figures['errors']} errors)", flush=True)
