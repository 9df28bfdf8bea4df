"""The sales service's periodic work (its timers), and the operators' calls that run it now."""
from __future__ import annotations

from typing import TYPE_CHECKING

from crm_common.db import utcnow
from crm_common.errors import forbidden
from datetime import date

from crm_common.errors import validation
from crm_sales.domain import accounts, activities, sales_contracts, subscription_renewals

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

REMINDER_BATCH = 500


def daily(ctx: Context) -> dict:
    """Contracts start, expire and remind before their end; accounts without orders churn."""
    counts = sales_contracts.run_lifecycle(ctx)
    counts["churned"] = accounts.mark_churned(ctx)
    return counts


def reminder_batch(ctx: Context) -> int:
    """One batch of the activities whose reminder time came, announced once each (how many)."""
    return activities.send_due_reminders(ctx, utcnow(), REMINDER_BATCH)


def run_daily(ctx: Context) -> dict:
    """The daily work now (administrators: operators, tests)."""
    _admin_only(ctx)
    return daily(ctx)


def run_reminders(ctx: Context) -> int:
    """Every due reminder now (administrators: operators, tests): how many went out."""
    _admin_only(ctx)
    total = 0
    while True:
        sent = reminder_batch(ctx)
        total += sent
        if sent < REMINDER_BATCH:
            return total


def subscriptions(ctx: Context) -> dict:
    """Subscriptions due renew (or expire) and renewal reminders due go out, once each."""
    return subscription_renewals.run(ctx, utcnow().date())


def run_subscriptions(ctx: Context, on: str | None = None) -> dict:
    """The subscription scan now, as of the day `on` (default today; administrators: operators, tests)."""
    _admin_only(ctx)
    try:
        day = date.fromisoformat(on) if on else utcnow().date()
    except (TypeError, ValueError):
        raise validation({"on": ["a day like 2026-12-31"]}) from None
    return subscription_renewals.run(ctx, day)


def _admin_only(ctx: Context) -> None:
    if not ctx.caller.is_admin:
        raise forbidden("for administrators")
