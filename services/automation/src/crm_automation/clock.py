"""The automation service's clock: every due time (waits, retries, schedules, digests) is read here, so tests
move time with time-machine (unit tests) and nothing else needs patching."""
from __future__ import annotations

from datetime import datetime, timedelta

from crm_common.db import utcnow


def now() -> datetime:
    return utcnow()


def after(seconds: float) -> datetime:
    return now() + timedelta(seconds=seconds)
