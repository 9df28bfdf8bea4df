"""The sales service's periodic work (its timers), and the operators' calls that run it now."""
from __future__ import annotations

from typing import TYPE_CHECKING

from crm_common.db import utcnow
from crm_common.errors import forbidden
from crm_sales.domain import accounts, activities, sales_contracts

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


def _admin_only(ctx: Context) -> None:
    if not ctx.caller.is_admin:
        raise forbidden("for administrators")
