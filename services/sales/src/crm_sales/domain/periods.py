"""Sales periods: `2026-Q4`, `2026-11` or `2026`, as days and as instants."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timezone

from crm_common.errors import validation


def period_bounds(period: str) -> tuple[date, date]:
    """[first day, first day after) of `2026-Q4`, `2026-11` or `2026`."""
    match = re.fullmatch(r"(\d{4})(?:-Q([1-4])|-(\d{2}))?", period or "")
    if not match:
        raise validation({"period": ["like 2026-Q4, 2026-11 or 2026"]})
    year = int(match.group(1))
    if not 1900 <= year <= 2999:
        raise validation({"period": ["a year from 1900 to 2999"]})
    if match.group(2):
        first = date(year, 3 * (int(match.group(2)) - 1) + 1, 1)
        months = 3
    elif match.group(3):
        first, months = date(year, int(match.group(3)), 1), 1
    else:
        first, months = date(year, 1, 1), 12
    month = first.month - 1 + months
    return first, date(year + month // 12, month % 12 + 1, 1)


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc)
