"""Cron-like schedules (`minute hour day-of-month month day-of-week`, each `*`, `*/n`, `a-b`, `a,b`) in a
time zone: the next moment a schedule fires after a given instant."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))  # day of week: 0 = Sunday (7 too)
NAMES = ("minute", "hour", "day of month", "month", "day of week")
HORIZON = 366 * 24 * 60  # minutes looked ahead at most


def parse(expression: str) -> list[set[int]]:
    """The allowed values of each of the five fields; ValueError saying which field is wrong."""
    parts = expression.split() if isinstance(expression, str) else []
    if len(parts) != 5:
        raise ValueError("a schedule has five fields: minute hour day-of-month month day-of-week")
    return [_field(part, low, high, name) for part, (low, high), name in zip(parts, RANGES, NAMES)]


def _field(text: str, low: int, high: int, name: str) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        step = 1
        if "/" in item:
            item, step_text = item.split("/", 1)
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError(f"{name}: bad step {step_text!r}")
            step = int(step_text)
        if item == "*":
            start, end = low, high
        elif "-" in item:
            a, b = item.split("-", 1)
            if not (a.isdigit() and b.isdigit()):
                raise ValueError(f"{name}: bad range {item!r}")
            start, end = int(a), int(b)
        elif item.isdigit():
            start = end = int(item)
        else:
            raise ValueError(f"{name}: {item!r} is not a number, range or *")
        top = 7 if name == "day of week" else high
        if start < low or end > top or start > end:
            raise ValueError(f"{name}: {item!r} is outside {low}-{high}")
        values.update(v % 7 if name == "day of week" else v for v in range(start, end + 1, step))
    return values


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def next_fire(expression: str, tz_name: str | None, after: datetime) -> datetime:
    """The first minute strictly after `after` (UTC) that the schedule names, in UTC."""
    minutes, hours, days, months, weekdays = parse(expression)
    tz = zone(tz_name)
    local = after.astimezone(tz).replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(HORIZON):
        if (local.month in months and local.day in days and local.hour in hours and local.minute in minutes
                and (local.isoweekday() % 7) in weekdays):
            return local.astimezone(timezone.utc)
        local += timedelta(minutes=1)
    raise ValueError("the schedule never fires within a year")
