"""Dates, numbers and money in the user's locale and time zone (Jinja filters)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from babel.dates import format_skeleton
from flask_babel import format_currency, format_datetime, format_decimal, format_time, get_locale, get_timezone


def money(value, currency=None) -> str:
    if value in (None, ""):
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return format_currency(amount, currency or "USD") if currency else format_decimal(amount)


def _timestamp(value, show) -> str:
    """An API timestamp shown by `show` in the user's language and time zone; anything else as it came."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    return show(moment)


def when(value) -> str:
    return _timestamp(value, lambda moment: format_datetime(moment, "medium"))


def clock(value) -> str:
    """The time of day of a timestamp, in the user's time zone."""
    return _timestamp(value, lambda moment: format_time(moment, "short"))


def weekday(day) -> str:
    """A day as its weekday and date in the user's language (Mon, Dec 7 / 12月7日周一)."""
    return format_skeleton("MMMEd", day, locale=get_locale())


def zone_name() -> str:
    return str(get_timezone())


def person(record: dict | None) -> str:
    if not record:
        return ""
    name = " ".join(p for p in (record.get("first_name"), record.get("last_name")) if p)
    return name or record.get("full_name") or record.get("email") or record.get("company") or ""


def register(env) -> None:
    from crm_console.vocabulary import label
    env.filters.update(money=money, when=when, person=person, label=label, clock=clock, weekday=weekday)
    env.globals.update(zone_name=zone_name)
