"""Waiting in tests for what happens asynchronously (events applied by another service, jobs finishing)."""
from __future__ import annotations

import time

SHOWN = 600  # characters of the last value a failed wait shows


class NotReached(AssertionError):
    """A wait's condition did not hold in time: the test fails at the wait, with what it saw last."""


def eventually(fetch, timeout: float = 15.0, until=None, interval: float = 0.2):
    """Call `fetch()` until `until(value)` holds (default: the value is truthy) and return that value; when
    `timeout` seconds pass first, fail the test (`NotReached`, an AssertionError) showing the last value: a wait
    that returned quietly hid the failure until a later, less telling assertion (or none)."""
    check = until or bool
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if check(value):
            return value
        if time.monotonic() > deadline:
            shown = repr(value)
            if len(shown) > SHOWN:
                shown = shown[:SHOWN] + "..."
            raise NotReached(f"not reached within {timeout:g} s; the last value: {shown}")
        time.sleep(interval)
