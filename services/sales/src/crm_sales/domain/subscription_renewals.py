"""The renewal timer: subscriptions whose renewal date came renew (a trial converts, a cancellation at the period
end expires), and owners are reminded N days before (the plan's renewal_reminder_days).

Safe with several replicas: each batch locks the rows it takes (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has
one writer at a time) and moves them past the condition that selected them (a later renews_on, a reminded_for) in
the same transaction, so a due renewal or reminder is done once."""
from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select

import crm_sales_contracts as c
from crm_sales.domain import billing
from crm_sales.domain.subscriptions import ZERO, current_mrr, emit
from crm_sales.models import Plan, Subscription

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

BATCH = 200
RENEWING = ("trial", "active", "past_due")


def _locked(ctx: Context, query, limit: int = BATCH):
    if ctx.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Subscription)
    return ctx.session.execute(query.limit(limit)).scalars().all()


def renew_batch(ctx: Context, on: date) -> dict:
    """One batch of subscriptions due on or before `on`, each moved one period on (or ended): the counts."""
    due = _locked(ctx, select(Subscription).where(Subscription.status.in_(RENEWING), Subscription.renews_on <= on,
                                                 Subscription.deleted_at.is_(None))
                  .order_by(Subscription.renews_on, Subscription.id))
    counts = {"renewed": 0, "expired": 0}
    for sub in due:
        plan = ctx.session.get(Plan, sub.plan_id)
        before, when = sub.mrr, sub.renews_on
        if sub.cancel_at_period_end:
            sub.status, sub.mrr, sub.ended_on, sub.renews_on = "expired", ZERO, when, None
            ctx.session.flush()
            emit(ctx, c.SUBSCRIPTION_EXPIRED, sub, before, when, "churn" if before else "none",
                 reason=sub.cancel_reason)
            counts["expired"] += 1
            continue
        if sub.status == "trial":  # the trial ends: the first paid period starts on that day
            sub.status, sub.anchor_on, sub.term = "active", when, 0
            kind = "new"
        else:
            sub.term += 1
            kind = None
        sub.period_start, sub.renews_on = billing.period_bounds(sub.anchor_on, plan.period, sub.term)
        sub.mrr = current_mrr(sub, plan)
        ctx.session.flush()
        emit(ctx, c.SUBSCRIPTION_RENEWED, sub, before, when, kind)
        counts["renewed"] += 1
    return counts


def remind_batch(ctx: Context, on: date) -> int:
    """One batch of renewal reminders that came due by `on` (renewal date less the plan's renewal_reminder_days):
    announced once per renewal date."""
    days_used = ctx.session.execute(select(Plan.renewal_reminder_days).where(Plan.renewal_reminder_days > 0)
                                    .distinct()).scalars().all()
    sent = 0
    for days in sorted(days_used):
        query = (select(Subscription).join(Plan, Plan.id == Subscription.plan_id)
                 .where(Plan.renewal_reminder_days == days, Subscription.status.in_(("active", "past_due")),
                        Subscription.cancel_at_period_end.is_(False), Subscription.deleted_at.is_(None),
                        Subscription.renews_on > on, Subscription.renews_on <= on + timedelta(days=days),
                        or_(Subscription.reminded_for.is_(None), Subscription.reminded_for != Subscription.renews_on))
                 .order_by(Subscription.renews_on, Subscription.id))
        for sub in _locked(ctx, query, BATCH - sent):
            sub.reminded_for = sub.renews_on
            ctx.emit(c.SUBSCRIPTION_RENEWAL_DUE, {"id": sub.id, "account_id": sub.account_id,
                                                  "owner_id": sub.owner_id, "plan_id": sub.plan_id,
                                                  "renews_on": sub.renews_on.isoformat(), "days_before": days})
            sent += 1
        if sent >= BATCH:
            break
    ctx.session.flush()
    return sent


def run(ctx: Context, on: date) -> dict:
    """Every due renewal (repeatedly, so that a subscription late by several periods catches up) and reminder."""
    counts = {"renewed": 0, "expired": 0, "reminded": 0}
    while True:
        done = renew_batch(ctx, on)
        counts["renewed"] += done["renewed"]
        counts["expired"] += done["expired"]
        if not (done["renewed"] + done["expired"]):
            break
    while True:
        sent = remind_batch(ctx, on)
        counts["reminded"] += sent
        if sent < BATCH:
            break
    return counts
