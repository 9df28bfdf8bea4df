"""Business-hours arithmetic: pure functions over a calendar of weekly working intervals and holidays.

A calendar keeps local time in an IANA time zone (e.g. Europe/Berlin, daylight saving included) or at a
fixed offset from UTC. Working intervals are times of the local day and holidays local dates; each
working interval is turned into its two UTC instants, and all counting happens between instants, so a
day that springs forward or falls back counts the hours that really pass. With no calendar, time runs
around the clock.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_DAYS = 3700  # about ten years of searching before a calendar is declared empty


class NoWorkingTime(ValueError):
    """The calendar cannot fit the requested working time within MAX_DAYS."""


@dataclass(frozen=True)
class Calendar:
    # weekday (Monday 0) -> sorted ((start_second, end_second), ...) of the local day
    week: dict[int, tuple[tuple[int, int], ...]]
    holidays: frozenset[date] = field(default_factory=frozenset)
    utc_offset_minutes: int = 0
    zone: ZoneInfo | None = None  # when set, local time follows it and utc_offset_minutes is unused

    @classmethod
    def from_spec(cls, intervals: list[dict], holidays=(), utc_offset_minutes: int = 0,
                  time_zone: str | None = None) -> "Calendar":
        week: dict[int, list[tuple[int, int]]] = {}
        for item in intervals:
            start, end = parse_hhmm(item["start"]), parse_hhmm(item["end"])
            if end <= start:
                raise ValueError(f"interval {item['start']}-{item['end']} ends before it starts")
            week.setdefault(int(item["weekday"]), []).append((start, end))
        merged = {day: _merge(spans) for day, spans in week.items()}
        days = frozenset(h if isinstance(h, date) else date.fromisoformat(h) for h in holidays)
        return cls(merged, days, int(utc_offset_minutes), zone_named(time_zone) if time_zone else None)

    @property
    def offset(self) -> timedelta:
        return timedelta(minutes=self.utc_offset_minutes)

    def spans(self, day: date) -> tuple[tuple[int, int], ...]:
        if day in self.holidays:
            return ()
        return self.week.get(day.weekday(), ())


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone of that name; ValueError for a name the zone database does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin)") from None


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
    """The calendar's naive local time of a moment."""
    moment = _utc(moment)
    if cal.zone is not None:
        return moment.astimezone(cal.zone).replace(tzinfo=None)
    return (moment + cal.offset).replace(tzinfo=None)


def _to_utc(local: datetime, cal: Calendar) -> datetime:
    """The UTC instant of a naive local time (a time skipped by a clock change counts at the earlier offset)."""
    if cal.zone is not None:
        return local.replace(tzinfo=cal.zone).astimezone(timezone.utc)
    return (local - cal.offset).replace(tzinfo=timezone.utc)


def _seconds(local: datetime) -> float:
    return local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6


def _working_instants(cal: Calendar, day: date):
    """The (begin, end) UTC instants of each working interval of a local day."""
    midnight = datetime.combine(day, time())
    for span_start, span_end in cal.spans(day):
        yield (_to_utc(midnight + timedelta(seconds=span_start), cal),
               _to_utc(midnight + timedelta(seconds=span_end), cal))


def add_business_minutes(start: datetime, minutes: float, cal: Calendar | None) -> datetime:
    """The moment `minutes` of working time after `start` (around the clock without a calendar)."""
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    start = _utc(start)
    if cal is None:
        return start + timedelta(minutes=minutes)
    remaining = timedelta(minutes=minutes)
    day = _to_local(start, cal).date()
    for _ in range(MAX_DAYS):
        for begin, end in _working_instants(cal, day):
            begin = max(begin, start)
            if begin >= end:
                continue
            if remaining <= end - begin:
                return begin + remaining
            remaining -= end - begin
        day += timedelta(days=1)
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
    total = timedelta()
    day, last = _to_local(start, cal).date(), _to_local(end, cal).date()
    while day <= last:
        for begin, finish in _working_instants(cal, day):
            overlap = min(finish, end) - max(begin, start)
            if overlap > timedelta():
                total += overlap
        day += timedelta(days=1)
    return total.total_seconds() / 60


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
