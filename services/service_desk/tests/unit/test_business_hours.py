"""Business-hours arithmetic: weekends, holidays, offsets, spans across days, and the way back."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crm_service_desk.domain.business_hours import (Calendar, NoWorkingTime, add_business_minutes,
                                             business_minutes_between, due_time, is_working_time)

UTC = timezone.utc
WEEKDAYS_9_TO_17 = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def office():
    return Calendar.from_spec(WEEKDAYS_9_TO_17, ["2026-12-25"])


def test_without_calendar_time_runs_around_the_clock():
    assert add_business_minutes(at("2026-11-28T23:00:00"), 120, None) == at("2026-11-29T01:00:00")
    assert business_minutes_between(at("2026-11-28T23:00:00"), at("2026-11-29T01:00:00"), None) == 120


def test_within_one_working_day(office):
    # Monday 2026-11-23 10:00 + 90 min
    assert add_business_minutes(at("2026-11-23T10:00:00"), 90, office) == at("2026-11-23T11:30:00")


def test_before_opening_starts_at_opening(office):
    assert add_business_minutes(at("2026-11-23T06:00:00"), 30, office) == at("2026-11-23T09:30:00")


def test_after_closing_carries_to_next_morning(office):
    assert add_business_minutes(at("2026-11-23T16:00:00"), 120, office) == at("2026-11-24T10:00:00")
    assert add_business_minutes(at("2026-11-23T18:00:00"), 60, office) == at("2026-11-24T10:00:00")


def test_ending_exactly_at_closing_time(office):
    assert add_business_minutes(at("2026-11-23T16:00:00"), 60, office) == at("2026-11-23T17:00:00")


def test_friday_afternoon_skips_the_weekend(office):
    # Friday 2026-11-27 16:00 + 2 h -> Monday 10:00
    assert add_business_minutes(at("2026-11-27T16:00:00"), 120, office) == at("2026-11-30T10:00:00")
    # a ticket opened on Saturday starts counting on Monday morning
    assert add_business_minutes(at("2026-11-28T12:00:00"), 60, office) == at("2026-11-30T10:00:00")


def test_holidays_are_skipped(office):
    # Thursday 2026-12-24 16:00 + 2 h: Friday the 25th is a holiday, then the weekend -> Monday 28th 10:00
    assert add_business_minutes(at("2026-12-24T16:00:00"), 120, office) == at("2026-12-28T10:00:00")


def test_many_days(office):
    # 5 working days of 8 h from Monday 09:00 end on Friday 17:00
    assert add_business_minutes(at("2026-11-23T09:00:00"), 5 * 8 * 60, office) == at("2026-11-27T17:00:00")
    assert add_business_minutes(at("2026-11-23T09:00:00"), 5 * 8 * 60 + 1, office) == at("2026-11-30T09:01:00")


def test_split_shifts_and_overlapping_intervals_merge():
    cal = Calendar.from_spec([{"weekday": 0, "start": "08:00", "end": "12:00"},
                              {"weekday": 0, "start": "11:00", "end": "12:30"},
                              {"weekday": 0, "start": "14:00", "end": "18:00"}])
    # 08:00 + 270 min: 08:00-12:30 is 270 min exactly
    assert add_business_minutes(at("2026-11-23T08:00:00"), 270, cal) == at("2026-11-23T12:30:00")
    assert add_business_minutes(at("2026-11-23T08:00:00"), 271, cal) == at("2026-11-23T14:01:00")
    # next Monday after the last shift
    assert add_business_minutes(at("2026-11-23T17:30:00"), 60, cal) == at("2026-11-30T08:30:00")


def test_fixed_offset_calendar_is_exact_in_utc():
    # a desk at UTC+02:00 working 09:00-17:00 local is open 07:00-15:00 UTC
    cal = Calendar.from_spec(WEEKDAYS_9_TO_17, [], utc_offset_minutes=120)
    assert add_business_minutes(at("2026-11-23T06:00:00"), 30, cal) == at("2026-11-23T07:30:00")
    assert add_business_minutes(at("2026-11-23T14:30:00"), 60, cal) == at("2026-11-24T07:30:00")
    # UTC-05:00: Friday 21:30 UTC is 16:30 local -> 30 min left, then Monday 09:00 local = 14:00 UTC
    west = Calendar.from_spec(WEEKDAYS_9_TO_17, [], utc_offset_minutes=-300)
    assert add_business_minutes(at("2026-11-27T21:30:00"), 60, west) == at("2026-11-30T14:30:00")


def test_a_time_zone_calendar_follows_daylight_saving():
    # Berlin: CET (UTC+1) until Sunday 2026-03-29 02:00, then CEST (UTC+2); back to CET on 2026-10-25
    berlin = Calendar.from_spec(WEEKDAYS_9_TO_17, [], time_zone="Europe/Berlin")
    # Friday 16:00 local (15:00Z) + 2 working hours: one on Friday, one from Monday 09:00 CEST (07:00Z)
    assert add_business_minutes(at("2026-03-27T15:00:00"), 120, berlin) == at("2026-03-30T08:00:00")
    assert is_working_time(at("2026-03-30T07:30:00"), berlin) and not is_working_time(at("2026-03-27T07:30:00"), berlin)
    assert business_minutes_between(at("2026-03-27T15:00:00"), at("2026-03-30T08:00:00"), berlin) == 120
    # and back in autumn: Monday 2026-10-26 opens at 09:00 CET = 08:00Z
    assert add_business_minutes(at("2026-10-23T14:00:00"), 120, berlin) == at("2026-10-26T09:00:00")
    # a fixed offset knows nothing of it: the same Monday would open at 08:00Z, an hour late
    fixed = Calendar.from_spec(WEEKDAYS_9_TO_17, [], utc_offset_minutes=60)
    assert add_business_minutes(at("2026-03-27T15:00:00"), 120, fixed) == at("2026-03-30T09:00:00")


def test_around_the_clock_in_a_zone_counts_the_hours_that_pass_on_clock_change_days():
    always = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]
    berlin = Calendar.from_spec(always, [], time_zone="Europe/Berlin")
    # the local day of 2026-03-29 has 23 hours, that of 2026-10-25 has 25
    assert business_minutes_between(at("2026-03-28T23:00:00"), at("2026-03-29T22:00:00"), berlin) == 23 * 60
    assert business_minutes_between(at("2026-10-24T22:00:00"), at("2026-10-25T23:00:00"), berlin) == 25 * 60
    assert add_business_minutes(at("2026-03-29T00:30:00"), 60, berlin) == at("2026-03-29T01:30:00")


def test_an_unknown_time_zone_is_refused():
    for name in ("Mars/Olympus", "../etc/passwd", "/etc/passwd", "Europe", ""):
        with pytest.raises(ValueError):
            Calendar.from_spec(WEEKDAYS_9_TO_17, [], time_zone=name or "Nowhere/")


def test_holiday_is_a_local_date():
    # at UTC+10 the local date of 2026-12-24T23:00Z is already the 25th (a holiday)
    cal = Calendar.from_spec([{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)], ["2026-12-25"],
                             utc_offset_minutes=600)
    assert not is_working_time(at("2026-12-24T15:00:00"), cal)  # 01:00 on the 25th local
    assert is_working_time(at("2026-12-24T13:59:00"), cal)  # 23:59 on the 24th local
    assert add_business_minutes(at("2026-12-24T13:00:00"), 120, cal) == at("2026-12-25T15:00:00")


def test_naive_and_other_offsets_are_normalised(office):
    plus_one = timezone(timedelta(hours=1))
    start = datetime(2026, 11, 23, 11, 0, tzinfo=plus_one)  # 10:00 UTC
    assert add_business_minutes(start, 30, office) == at("2026-11-23T10:30:00")
    assert add_business_minutes(datetime(2026, 11, 23, 10, 0), 30, office) == at("2026-11-23T10:30:00")


def test_minutes_between_counts_only_working_time(office):
    # Friday 16:00 -> Monday 10:00 is 2 working hours
    assert business_minutes_between(at("2026-11-27T16:00:00"), at("2026-11-30T10:00:00"), office) == 120
    # a weekend alone is no working time
    assert business_minutes_between(at("2026-11-28T00:00:00"), at("2026-11-30T00:00:00"), office) == 0
    assert business_minutes_between(at("2026-11-30T10:00:00"), at("2026-11-27T16:00:00"), office) == 0
    # over the holiday
    assert business_minutes_between(at("2026-12-24T16:00:00"), at("2026-12-28T10:00:00"), office) == 120


@pytest.mark.parametrize("start", ["2026-11-23T08:13:00", "2026-11-27T16:59:00", "2026-11-28T03:00:00",
                                   "2026-12-24T12:00:00", "2026-03-27T16:30:00", "2026-10-23T15:45:00"])
@pytest.mark.parametrize("minutes", [1, 59, 480, 1000, 10000])
@pytest.mark.parametrize("zone", [None, "Europe/Berlin", "America/New_York"])
def test_adding_then_measuring_gives_the_minutes_back(office, start, minutes, zone):
    if zone:
        office = Calendar.from_spec(WEEKDAYS_9_TO_17, ["2026-12-25"], time_zone=zone)
    begin = at(start)
    end = add_business_minutes(begin, minutes, office)
    assert business_minutes_between(begin, end, office) == pytest.approx(minutes)
    assert is_working_time(end - timedelta(seconds=1), office)


def test_a_calendar_without_working_time_is_refused():
    empty = Calendar.from_spec([], [])
    with pytest.raises(ValueError):
        add_business_minutes(at("2026-11-23T08:00:00"), 10, empty)
    with pytest.raises(ValueError):
        Calendar.from_spec([{"weekday": 0, "start": "12:00", "end": "09:00"}])


def test_a_target_beyond_the_calendars_reach_has_no_due_time():
    one_minute_a_week = Calendar.from_spec([{"weekday": 0, "start": "09:00", "end": "09:01"}])
    with pytest.raises(NoWorkingTime):
        add_business_minutes(at("2026-11-23T09:00:00"), 525600, one_minute_a_week)
    assert due_time(at("2026-11-23T09:00:00"), 525600, one_minute_a_week) is None
    assert due_time(at("2026-11-23T09:00:00"), 1, one_minute_a_week) == at("2026-11-23T09:01:00")
