"""A customer's subscriptions: subscribe (with a trial), change plan or quantity with proration, pause, cancel.
Every change that moves the MRR is kept as a movement (the figures: subscription_metrics) and announced."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import crm_sales_contracts as c
from crm_common import scope
from crm_common.db import utcnow
from crm_common.errors import ServiceError, validation
from crm_sales.domain import billing, plans, records, users
from crm_sales.models import Account, Plan, Subscription, SubscriptionMovement

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

ZERO = Decimal("0.00")
LIVE = ("trial", "active", "past_due", "paused")
ENDED = ("cancelled", "expired")
# status -> statuses a PATCH may set
STATUS_FLOW = {"active": ("paused", "past_due"), "past_due": ("active", "paused"), "paused": ("active",),
               "trial": (), "cancelled": (), "expired": ()}

get = records.reader("subscription", Subscription)
page = records.lister("subscription", Subscription, c.SubscriptionFilters.SORTABLE)


def today() -> date:
    return utcnow().date()


def counts_mrr(status: str) -> bool:
    """Whether a subscription in this status is recurring revenue (a trial, a pause and an end are not)."""
    return status in ("active", "past_due")


def current_mrr(sub: Subscription, plan: Plan, status: str | None = None) -> Decimal:
    return billing.mrr(plan.price, sub.quantity, plan.period) if counts_mrr(status or sub.status) else ZERO


def create(ctx: Context, data: dict) -> Subscription:
    """Subscribe an account to a plan from `starts_on` (today): a trial first when the plan has one."""
    session, actor = ctx.session, ctx.caller
    account = session.get(Account, data["account_id"])
    if account is None or account.deleted_at is not None or not scope.allows(actor, "account", "read", account):
        raise validation({"account_id": ["no such account"]})
    plan = plans.usable(ctx, data["plan_id"])
    starts = data.get("starts_on") or today()
    if not 1900 <= starts.year <= 2900:
        raise validation({"starts_on": ["a day from 1900 to 2900"]})
    sub = Subscription(account_id=account.id, plan_id=plan.id, quantity=data.get("quantity") or 1, starts_on=starts,
                       currency=plan.currency, term=0, owner_id=account.owner_id or actor.user_id,
                       territory_id=account.territory_id)
    sub.team_id = account.team_id or users.team_of(session, sub.owner_id, actor)
    if plan.trial_days:
        sub.status, sub.anchor_on = "trial", starts
        sub.period_start, sub.renews_on = starts, date.fromordinal(starts.toordinal() + plan.trial_days)
        sub.trial_ends_on = sub.renews_on
    else:
        sub.status, sub.anchor_on = "active", starts
        sub.period_start, sub.renews_on = billing.period_bounds(starts, plan.period, 0)
    sub.mrr = current_mrr(sub, plan)
    session.add(sub)
    session.flush()
    emit(ctx, c.SUBSCRIPTION_CREATED, sub, ZERO, starts, "new" if sub.mrr else "none")
    return sub


def emit(ctx: Context, event: str, sub: Subscription, before: Decimal, on: date, kind: str | None = None,
         **extra) -> None:
    """Keep the MRR movement (if any) and announce the change."""
    after = sub.mrr
    if kind is None:
        kind = "none" if after == before else ("expansion" if after > before else "contraction")
    if after != before:
        ctx.session.add(SubscriptionMovement(
            subscription_id=sub.id, account_id=sub.account_id, owner_id=sub.owner_id, team_id=sub.team_id,
            territory_id=sub.territory_id, kind=kind, effective_on=on, mrr_before=before, mrr_after=after,
            currency=sub.currency))
        ctx.session.flush()
    ctx.emit(event, {"id": sub.id, "account_id": sub.account_id, "plan_id": sub.plan_id, "quantity": sub.quantity,
                     "status": sub.status, "currency": sub.currency, "movement": kind, "mrr_before": str(before),
                     "mrr_after": str(after), "effective_on": on.isoformat(),
                     "renews_on": sub.renews_on.isoformat() if sub.renews_on else None, **extra})


def change_plan(ctx: Context, record_id: str, data: dict) -> dict:
    """Upgrade or downgrade today: the new plan and quantity apply at once, the difference is prorated by the days
    left in the period (billing.proration); a change of period length starts a new period today."""
    session = ctx.session
    sub = records.load(ctx, "subscription", Subscription, record_id, "update")
    if sub.status in ENDED:
        raise ServiceError("conflict", f"a {sub.status} subscription cannot change plan")
    old = session.get(Plan, sub.plan_id)
    new = plans.usable(ctx, data["plan_id"])
    quantity = data.get("quantity") or sub.quantity
    if new.currency != sub.currency:
        raise validation({"plan_id": [f"a plan in {sub.currency}, the subscription's currency"]})
    if new.id == old.id and quantity == sub.quantity:
        raise validation({"plan_id": ["this is the current plan and quantity"]})
    on = today()
    same = billing.MONTHS[new.period] == billing.MONTHS[old.period]
    if sub.status == "trial":
        prorated = {"amount": ZERO, "days_left": 0, "days_in_period": 0}
    else:
        prorated = billing.proration(old.price * sub.quantity, new.price * quantity, same, sub.period_start,
                                     sub.renews_on, on)
        if not same:  # a new period of the new length from today
            sub.anchor_on, sub.term = on, 0
            sub.period_start, sub.renews_on = billing.period_bounds(on, new.period, 0)
    before = sub.mrr
    changed = [name for name, value in (("plan_id", new.id), ("quantity", quantity)) if getattr(sub, name) != value]
    sub.plan_id, sub.quantity = new.id, quantity
    sub.mrr = current_mrr(sub, new)
    session.flush()
    emit(ctx, c.SUBSCRIPTION_CHANGED, sub, before, on, changed_fields=changed, proration=str(prorated["amount"]))
    return {"subscription": sub, "proration": {**prorated, "amount": str(prorated["amount"]),
                                               "currency": sub.currency}}


def update(ctx: Context, record_id: str, data: dict, expected_version: int | None = None) -> Subscription:
    """Pause, resume or mark past due. A pause takes the subscription out of MRR (contraction), resuming puts it
    back (expansion)."""
    sub = records.load_for_update(ctx, "subscription", Subscription, record_id, expected_version)
    status = data["status"]
    if status == sub.status:
        return sub
    if status not in STATUS_FLOW[sub.status]:
        raise ServiceError("conflict", f"a {sub.status} subscription cannot become {status}",
                           extra={"allowed": list(STATUS_FLOW[sub.status])})
    before = sub.mrr
    sub.status = status
    sub.mrr = current_mrr(sub, ctx.session.get(Plan, sub.plan_id))
    ctx.session.flush()
    emit(ctx, c.SUBSCRIPTION_CHANGED, sub, before, today(), changed_fields=["status"])
    return sub


def cancel(ctx: Context, record_id: str, data: dict) -> Subscription:
    """Cancel now (the MRR churns today) or at the period end (it runs until its renewal date, then expires)."""
    sub = records.load(ctx, "subscription", Subscription, record_id, "update")
    if sub.status in ENDED:
        raise ServiceError("conflict", f"this subscription is {sub.status} already")
    sub.cancel_reason, sub.cancelled_at = data["reason"], utcnow()
    before, on = sub.mrr, today()
    if data.get("at_period_end") and sub.status != "trial":
        sub.cancel_at_period_end = True
        ctx.session.flush()
        emit(ctx, c.SUBSCRIPTION_CANCELLED, sub, before, on, "none", reason=sub.cancel_reason)
        return sub
    sub.status, sub.mrr, sub.ended_on, sub.renews_on = "cancelled", ZERO, on, None
    ctx.session.flush()
    emit(ctx, c.SUBSCRIPTION_CANCELLED, sub, before, on, "churn" if before else "none", reason=sub.cancel_reason)
    return sub
