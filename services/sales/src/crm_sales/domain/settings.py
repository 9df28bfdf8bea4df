"""Configurable business values, stored in sales_settings over these defaults."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from crm_common.errors import forbidden, validation
from crm_sales.domain import records
from crm_sales.models import Setting

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

AUDIT_ID = "sales"  # the record id of the settings in the audit trail (there is one set)

DEFAULTS = {
    "grade_thresholds": {"A": "100000.00", "B": "10000.00"},  # total order value for grade A / B, else C
    "loyal_after_orders": 5,  # lifecycle: prospect, first_purchase, repeat, loyal (this many orders)
    "churn_after_days": 365,  # no order for this long: churned
    "discount_approval_percent": "15.00",  # a quote line discount above this needs a manager's approval
    "renewal_reminder_days": 30,  # a reminder activity this many days before a contract ends
    "commission_rate_percent": "5.00",  # commission on closed-won amounts (per user overrides below)
    "commission_rates": {},  # user_id -> percent
}


def get(session, key: str):
    row = session.get(Setting, key)
    return row.value["v"] if row is not None else DEFAULTS[key]


def all_values(session) -> dict:
    return {key: get(session, key) for key in DEFAULTS}


def read(ctx: Context) -> dict:
    """Every setting's value (stored, or its default)."""
    return all_values(ctx.session)


def decimal(session, key: str) -> Decimal:
    return Decimal(str(get(session, key)))


def update(ctx: Context, values: dict) -> dict:
    """Change settings (administrators only); the others keep their values."""
    if not ctx.caller.is_admin:
        raise forbidden("sales settings are for administrators")
    session = ctx.session
    values = dict(values or {})
    errors = {}
    for key, value in values.items():
        if key not in DEFAULTS:
            errors[key] = ["unknown setting"]
            continue
        try:
            _check(key, value)
        except KeyError as exc:
            errors[key] = [f"{exc.args[0]} is missing"]
        except (ValueError, TypeError, ArithmeticError) as exc:
            errors[key] = [str(exc) or "invalid value"]
    if errors:
        raise validation(errors)
    changed = []
    for key, value in values.items():
        value = _stored(value)
        if value == get(session, key):
            continue
        row = session.get(Setting, key)
        if row is None:
            session.add(Setting(key=key, value={"v": value}))
        else:
            row.value = {"v": value}
        changed.append(key)
    session.flush()
    records.changed(ctx, "settings", AUDIT_ID, "update", changed)
    return all_values(session)


def _stored(value):
    """What the JSON column keeps: exact decimals as their text ("15.00"), like the defaults."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _stored(v) for k, v in value.items()}
    return value


def _check(key: str, value) -> None:
    if key == "grade_thresholds":
        a, b = Decimal(str(value["A"])), Decimal(str(value["B"]))
        if not (a.is_finite() and b.is_finite() and a > b >= 0):
            raise ValueError("A must be above B, both at least 0")
    elif key in ("discount_approval_percent", "commission_rate_percent"):
        if not 0 <= Decimal(str(value)) <= 100:
            raise ValueError("a percentage between 0 and 100")
    elif key == "commission_rates":
        for percent in dict(value).values():
            if not 0 <= Decimal(str(percent)) <= 100:
                raise ValueError("percentages between 0 and 100")
    elif not (isinstance(value, int) and 0 < value <= 3650):
        raise ValueError("a whole number of 1 to 3650")
