"""Business-hours arithmetic: pure functions over a calendar of weekly working intervals and holidays.

A calendar is defined at a fixed offset from UTC (no daylight saving), so every computation is exact
in UTC: working intervals are minutes of the local day, holidays are local dates. With no calendar,
time runs around the clock.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

MAX_DAYS = 3700  # about ten years of searching before a calendar is declared empty


class NoWorkingTime(ValueError):
    """The calendar cannot fit the requested working time within MAX_DAYS."""


@dataclass(frozen=True)
class Calendar:
    # weekday (Monday 0) -> sorted ((start_second, end_second), ...) of the local day
    week: dict[int, tuple[tuple[int, int], ...]]
    holidays: frozenset[date] = field(default_factory=frozenset)
    utc_offset_minutes: int = 0

    @classmethod
    def from_spec(cls, intervals: list[dict], holidays=(), utc_offset_minutes: int = 0) -> "Calendar":
        week: dict[int, list[tuple[int, int]]] = {}
        for item in intervals:
            start, end = parse_hhmm(item["start"]), parse_hhmm(item["end"])
            if end <= start:
                raise ValueError(f"interval {item['start']}-{item['end']} ends before it starts")
            week.setdefault(int(item["weekday"]), []).append((start, end))
        merged = {day: _merge(spans) for day, spans in week.items()}
        days = frozenset(h if isinstance(h, date) else date.fromisoformat(h) for h in holidays)
        return cls(merged, days, int(utc_offset_minutes))

    @property
    def offset(self) -> timedelta:
        return timedelta(minutes=self.utc_offset_minutes)

    def spans(self, day: date) -> tuple[tuple[int, int], ...]:
        if day in self.holidays:
            return ()
        return self.week.get(day.weekday(), ())


def parse_hhmm(text: str) -> int:
    """"09:30" -> seconds after midnight; "24:00" is the end of the day."""
    hours, minutes = text.split(":")
    value = int(hours) * 3600 + int(minutes) * 60
    if not 0 <= value <= 86400:
        raise ValueError(f"not a time of day: {text}")
    return value


def _merge(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    result: list[list[int]] = []
    for start, end in sorted(spans):
        if result and start <= result[-1][1]:
            result[-1][1] = max(result[-1][1], end)
        else:
            result.append([start, end])
    return tuple((s, e) for s, e in result)


def _to_local(moment: datetime, cal: Calendar) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment.astimezone(timezone.utc) + cal.offset).replace(tzinfo=None)


def _to_utc(local: datetime, cal: Calendar) -> datetime:
    return (local - cal.offset).replace(tzinfo=timezone.utc)


def _seconds(local: datetime) -> float:
    return local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6


def add_business_minutes(start: datetime, minutes: float, cal: Calendar | None) -> datetime:
    """The moment `minutes` of working time after `start` (around the clock without a calendar)."""
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    if cal is None:
        return _utc(start) + timedelta(minutes=minutes)
    remaining = minutes * 60.0
    local = _to_local(start, cal)
    day, cursor = local.date(), _seconds(local)
    for _ in range(MAX_DAYS):
        for span_start, span_end in cal.spans(day):
            begin = max(span_start, cursor)
            if begin >= span_end:
                continue
            available = span_end - begin
            if remaining <= available:
                moment = datetime.combine(day, time()) + timedelta(seconds=begin + remaining)
                return _to_utc(moment, cal)
            remaining -= available
        day, cursor = day + timedelta(days=1), 0
    raise NoWorkingTime(f"the calendar does not fit {minutes:g} working minutes within {MAX_DAYS} days")


def due_time(start: datetime, minutes: float, cal: Calendar | None) -> datetime | None:
    """Like add_business_minutes, but a target the calendar cannot reach in MAX_DAYS has no due time."""
    try:
        return add_business_minutes(start, minutes, cal)
    except NoWorkingTime:
        return None


def business_minutes_between(start: datetime, end: datetime, cal: Calendar | None) -> float:
    """Working minutes from `start` to `end` (0 when end is not after start)."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        return 0.0
    if cal is None:
        return (end - start).total_seconds() / 60
    local_start, local_end = _to_local(start, cal), _to_local(end, cal)
    total = 0.0
    day = local_start.date()
    for _ in range(MAX_DAYS + (local_end.date() - day).days):
        if day > local_end.date():
            break
        lower = _seconds(local_start) if day == local_start.date() else 0
        upper = _seconds(local_end) if day == local_end.date() else 86400
        for span_start, span_end in cal.spans(day):
            overlap = min(span_end, upper) - max(span_start, lower)
            if overlap > 0:
                total += overlap
        day += timedelta(days=1)
    return total / 60


def is_working_time(moment: datetime, cal: Calendar | None) -> bool:
    if cal is None:
        return True
    local = _to_local(moment, cal)
    seconds = _seconds(local)
    return any(s <= seconds < e for s, e in cal.spans(local.date()))


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
