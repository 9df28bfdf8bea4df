"""Subscription arithmetic in exact decimals: billing periods, monthly recurring revenue, day-based proration.

Rules (README, "Subscriptions"):
- a period is 1, 3 or 12 calendar months counted from the anchor day; a day past the end of a shorter month is
  its last day (31 January + 1 month = 28/29 February, + 2 months = 31 March);
- MRR = price x quantity / months in the period, rounded half-up to cents;
- proration of a change on day d in the period [start, end): days_left = end - d, days = end - start;
  same period length: (new price x new quantity - old price x old quantity) x days_left / days;
  another period length: the new plan's full period from d, less the unused part of the old period
  (old price x old quantity x days_left / days); computed exactly, rounded half-up to cents once at the end.
"""
from __future__ import annotations

import calendar
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
MONTHS = {"month": 1, "quarter": 3, "year": 12}


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_bounds(anchor: date, period: str, term: int) -> tuple[date, date]:
    """[start, end) of period number `term` counted from `anchor`."""
    months = MONTHS[period]
    return add_months(anchor, months * term), add_months(anchor, months * (term + 1))


def mrr(price: Decimal, quantity: int, period: str) -> Decimal:
    return cents(Decimal(price) * quantity / MONTHS[period])


def proration(old_amount: Decimal, new_amount: Decimal, same_period: bool, start: date, end: date,
              on: date) -> dict:
    """What a change on day `on` of the period [start, end) charges (negative: credits). `old_amount` and
    `new_amount` are price x quantity of a whole period of each plan."""
    days = (end - start).days
    left = max(0, min(days, (end - on).days))
    old, new = Decimal(old_amount), Decimal(new_amount)
    # one division each way, so that the only rounding is to cents at the end
    amount = (new - old) * left / days if same_period else (new * days - old * left) / days
    return {"amount": cents(amount), "days_left": left, "days_in_period": days}
