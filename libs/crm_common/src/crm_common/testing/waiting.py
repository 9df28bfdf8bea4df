"""Waiting in tests for what happens asynchronously (events applied by another service, jobs finishing)."""
from __future__ import annotations

import time


def eventually(fetch, timeout: float = 15.0, until=None, interval: float = 0.2):
    """Call `fetch()` until `until(value)` holds (default: the value is truthy) or `timeout` seconds passed;
    returns the last value, for the test to assert on."""
    check = until or bool
    deadline = time.time() + timeout
    while True:
        value = fetch()
        if check(value) or time.time() > deadline:
            return value
        time.sleep(interval)
