"""Subscriptions: plans, proration exact in decimals (hand-computed), renewals and reminders on time (time machine),
cancellation, and the MRR figures from the history."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
import time_machine

import crm_sales_contracts as c
from crm_common.errors import ServiceError
from crm_sales.domain import billing, plans, subscription_metrics, subscription_renewals, subscriptions
from crm_sales.models import Account


def at(day: date):
    return time_machine.travel(datetime(day.year, day.month, day.day, 9, tzinfo=timezone.utc), tick=False)


@pytest.fixture
def shop(session, ctx, team):
    admin = ctx(team["admin"])
    basic = plans.create(admin, {"name": "Basic", "price": Decimal("30.00"), "currency": "EUR", "period": "month",
                                 "trial_days": 0, "renewal_reminder_days": 7, "active": True})
    pro = plans.create(admin, {"name": "Pro", "price": Decimal("99.99"), "currency": "EUR", "period": "month",
                               "trial_days": 0, "renewal_reminder_days": 7, "active": True})
    yearly = plans.create(admin, {"name": "Yearly", "price": Decimal("1000.00"), "currency": "EUR", "period": "year",
                                  "trial_days": 0, "renewal_reminder_days": 30, "active": True})
    trial = plans.create(admin, {"name": "Trial", "price": Decimal("50.00"), "currency": "EUR", "period": "month",
                                 "trial_days": 14, "renewal_reminder_days": 7, "active": True})
    accounts = []
    for name, owner in (("Acme", "r1"), ("Beta", "r1"), ("Gamma", "r3")):
        account = Account(name=name, name_key=name.lower(), owner_id=owner, team_id=team[owner].team_id)
        session.add(account)
        accounts.append(account)
    session.flush()
    return {"basic": basic, "pro": pro, "yearly": yearly, "trial": trial, "accounts": accounts}


def subscribe(ctx, who, account, plan, quantity=1, starts_on=None):
    return subscriptions.create(ctx(who), {"account_id": account.id, "plan_id": plan.id, "quantity": quantity,
                                           **({"starts_on": starts_on} if starts_on else {})})


def test_periods_count_from_the_anchor_and_keep_the_last_day_of_short_months():
    assert billing.period_bounds(date(2026, 1, 31), "month", 1) == (date(2026, 2, 28), date(2026, 3, 31))
    assert billing.period_bounds(date(2026, 11, 30), "quarter", 0) == (date(2026, 11, 30), date(2027, 2, 28))
    assert billing.period_bounds(date(2028, 2, 29), "year", 1) == (date(2029, 2, 28), date(2030, 2, 28))
    assert billing.mrr(Decimal("1000.00"), 1, "year") == Decimal("83.33")  # 83.333... half-up to cents
    assert billing.mrr(Decimal("99.99"), 3, "quarter") == Decimal("99.99")


def test_proration_by_hand():
    # 2 x 30.00 -> 3 x 99.99 on 12 November of [1 Nov, 1 Dec): 19 of 30 days left; (299.97 - 60.00) x 19 / 30
    # = 4559.43 / 30 = 151.981 -> 151.98
    assert billing.proration(Decimal("60.00"), Decimal("299.97"), True, date(2026, 11, 1), date(2026, 12, 1),
                             date(2026, 11, 12)) == {"amount": Decimal("151.98"), "days_left": 19, "days_in_period": 30}
    # a downgrade credits: (30.00 - 99.99) x 10 / 31 = -699.90 / 31 = -22.5774... -> -22.58
    assert billing.proration(Decimal("99.99"), Decimal("30.00"), True, date(2026, 12, 1), date(2027, 1, 1),
                             date(2026, 12, 22))["amount"] == Decimal("-22.58")
    # monthly -> yearly: the year from today, less the unused 19/30 of 60.00 (38.00): 962.00
    assert billing.proration(Decimal("60.00"), Decimal("1000.00"), False, date(2026, 11, 1), date(2026, 12, 1),
                             date(2026, 11, 12))["amount"] == Decimal("962.00")


def test_subscribe_upgrade_mid_period_is_prorated_exactly_and_announced(ctx, team, shop, events):
    acme = shop["accounts"][0]
    with at(date(2026, 11, 1)):
        sub = subscribe(ctx, team["r1"], acme, shop["basic"], 2)
    assert (sub.status, sub.period_start, sub.renews_on, sub.mrr) == ("active", date(2026, 11, 1), date(2026, 12, 1),
                                                                      Decimal("60.00"))
    with at(date(2026, 11, 12)):
        changed = subscriptions.change_plan(ctx(team["r1"]), sub.id, {"plan_id": shop["pro"].id, "quantity": 3})
    assert changed["proration"] == {"amount": "151.98", "currency": "EUR", "days_left": 19, "days_in_period": 30}
    assert (sub.plan_id, sub.quantity, sub.mrr, sub.renews_on) == (shop["pro"].id, 3, Decimal("299.97"),
                                                                   date(2026, 12, 1))
    created, moved = events.of(c.SUBSCRIPTION_CREATED)[0], events.of(c.SUBSCRIPTION_CHANGED)[0]
    assert (created["movement"], created["mrr_after"]) == ("new", "60.00")
    assert (moved["movement"], moved["mrr_before"], moved["mrr_after"], moved["proration"]) == (
        "expansion", "60.00", "299.97", "151.98")
    assert moved["changed_fields"] == ["plan_id", "quantity"]

    with at(date(2026, 11, 12)), pytest.raises(ServiceError) as same:
        subscriptions.change_plan(ctx(team["r1"]), sub.id, {"plan_id": shop["pro"].id})
    assert same.value.code == "validation_failed" and "plan_id" in same.value.errors


def test_a_change_to_a_yearly_plan_starts_a_new_period(ctx, team, shop):
    with at(date(2026, 11, 1)):
        sub = subscribe(ctx, team["r1"], shop["accounts"][0], shop["basic"], 2)
    with at(date(2026, 11, 12)):
        changed = subscriptions.change_plan(ctx(team["r1"]), sub.id, {"plan_id": shop["yearly"].id, "quantity": 1})
    assert changed["proration"]["amount"] == "962.00"
    assert (sub.period_start, sub.renews_on, sub.mrr) == (date(2026, 11, 12), date(2027, 11, 12), Decimal("83.33"))


def test_another_reps_subscription_is_not_found(ctx, team, shop):
    with at(date(2026, 11, 1)):
        sub = subscribe(ctx, team["r1"], shop["accounts"][0], shop["basic"])
    with pytest.raises(ServiceError) as hidden:
        subscriptions.get(ctx(team["r3"]), sub.id)
    assert hidden.value.code == "not_found"
    with pytest.raises(ServiceError) as other:  # r3 cannot sell on r1's account either
        subscribe(ctx, team["r3"], shop["accounts"][0], shop["basic"])
    assert other.value.errors == {"account_id": ["no such account"]}
    assert subscriptions.get(ctx(team["m1"]), sub.id).id == sub.id  # r1's manager sees it


def test_renewals_come_on_time_once_and_catch_up(ctx, team, shop, events):
    with at(date(2026, 11, 1)):
        sub = subscribe(ctx, team["r1"], shop["accounts"][0], shop["basic"], 2)
    system = ctx()
    assert subscription_renewals.run(system, date(2026, 11, 23)) == {"renewed": 0, "expired": 0, "reminded": 0}
    assert subscription_renewals.run(system, date(2026, 11, 24)) == {"renewed": 0, "expired": 0, "reminded": 1}
    assert subscription_renewals.run(system, date(2026, 11, 30))["reminded"] == 0  # once per renewal date
    reminder = events.of(c.SUBSCRIPTION_RENEWAL_DUE)[0]
    assert (reminder["renews_on"], reminder["days_before"], reminder["owner_id"]) == ("2026-12-01", 7, "r1")

    assert subscription_renewals.run(system, date(2026, 12, 1))["renewed"] == 1
    assert (sub.period_start, sub.renews_on, sub.status) == (date(2026, 12, 1), date(2027, 1, 1), "active")
    assert subscription_renewals.run(system, date(2026, 12, 1))["renewed"] == 0  # a second replica's scan
    assert subscription_renewals.run(system, date(2027, 3, 5)) == {"renewed": 3, "expired": 0, "reminded": 0}
    assert (sub.period_start, sub.renews_on, sub.term) == (date(2027, 3, 1), date(2027, 4, 1), 4)
    renewed = events.of(c.SUBSCRIPTION_RENEWED)
    assert [r["effective_on"] for r in renewed] == ["2026-12-01", "2027-01-01", "2027-02-01", "2027-03-01"]
    assert {r["movement"] for r in renewed} == {"none"}


def test_a_trial_converts_at_its_end_and_counts_as_new_then(ctx, team, shop, events):
    with at(date(2026, 11, 1)):
        sub = subscribe(ctx, team["r1"], shop["accounts"][0], shop["trial"])
    assert (sub.status, sub.mrr, sub.renews_on, sub.trial_ends_on) == ("trial", Decimal("0.00"), date(2026, 11, 15),
                                                                       date(2026, 11, 15))
    assert events.of(c.SUBSCRIPTION_CREATED)[0]["movement"] == "none"
    subscription_renewals.run(ctx(), date(2026, 11, 15))
    assert (sub.status, sub.mrr, sub.period_start, sub.renews_on) == ("active", Decimal("50.00"), date(2026, 11, 15),
                                                                      date(2026, 12, 15))
    assert events.of(c.SUBSCRIPTION_RENEWED)[0]["movement"] == "new"


def test_cancel_now_churns_and_at_period_end_expires_on_the_renewal_date(ctx, team, shop, events):
    acme, beta = shop["accounts"][:2]
    with at(date(2026, 11, 1)):
        now = subscribe(ctx, team["r1"], acme, shop["basic"])
        later = subscribe(ctx, team["r1"], beta, shop["basic"])
    with at(date(2026, 11, 20)):
        subscriptions.cancel(ctx(team["r1"]), now.id, {"reason": "too expensive"})
        subscriptions.cancel(ctx(team["r1"]), later.id, {"reason": "moving on", "at_period_end": True})
        with pytest.raises(ServiceError) as again:
            subscriptions.cancel(ctx(team["r1"]), now.id, {"reason": "twice"})
    assert again.value.code == "conflict"
    assert (now.status, now.mrr, now.ended_on, now.cancel_reason) == ("cancelled", Decimal("0.00"), date(2026, 11, 20),
                                                                      "too expensive")
    assert (later.status, later.mrr) == ("active", Decimal("30.00"))
    assert subscription_renewals.run(ctx(), date(2026, 11, 25))["reminded"] == 0  # not renewing: no reminder
    assert subscription_renewals.run(ctx(), date(2026, 12, 1))["expired"] == 1
    assert (later.status, later.mrr, later.ended_on) == ("expired", Decimal("0.00"), date(2026, 12, 1))
    assert [e["movement"] for e in events.of(c.SUBSCRIPTION_CANCELLED)] == ["churn", "none"]
    assert events.of(c.SUBSCRIPTION_EXPIRED)[0]["movement"] == "churn"


def test_pause_and_resume_move_the_mrr(ctx, team, shop):
    with at(date(2026, 11, 1)):
        sub = subscribe(ctx, team["r1"], shop["accounts"][0], shop["basic"])
        subscriptions.update(ctx(team["r1"]), sub.id, {"status": "paused"})
        assert sub.mrr == Decimal("0.00")
        with pytest.raises(ServiceError) as refused:
            subscriptions.update(ctx(team["r1"]), sub.id, {"status": "past_due"})
        assert refused.value.code == "conflict"
        subscriptions.update(ctx(team["r1"]), sub.id, {"status": "active"})
        assert sub.mrr == Decimal("30.00")


def test_metrics_of_a_month_from_the_history(ctx, team, shop):
    acme, beta, gamma = shop["accounts"]
    with at(date(2026, 10, 5)):
        b = subscribe(ctx, team["r1"], beta, shop["basic"], 4)  # 120.00 in October
        g = subscribe(ctx, team["r3"], gamma, shop["basic"], 2)  # 60.00 in October
    with at(date(2026, 11, 1)):
        a = subscribe(ctx, team["r1"], acme, shop["basic"], 2)  # new: 60.00
    with at(date(2026, 11, 12)):
        subscriptions.change_plan(ctx(team["r1"]), a.id, {"plan_id": shop["pro"].id, "quantity": 3})  # +239.97
        subscriptions.change_plan(ctx(team["r3"]), g.id, {"plan_id": shop["basic"].id, "quantity": 3})  # +30.00
    with at(date(2026, 11, 20)):
        subscriptions.cancel(ctx(team["r1"]), b.id, {"reason": "budget"})  # churn 120.00
    with at(date(2026, 12, 2)):
        subscriptions.change_plan(ctx(team["r3"]), g.id, {"plan_id": shop["basic"].id, "quantity": 1})  # -60.00

    november = subscription_metrics.metrics(ctx(team["admin"]), {"month": "2026-11", "currency": "EUR"})
    assert november == {"month": "2026-11", "currency": "EUR", "mrr": "389.97", "arr": "4679.64", "new": "60.00",
                        "expansion": "269.97", "contraction": "0.00", "churned": "120.00", "reactivation": "0.00",
                        "starting_mrr": "180.00", "nrr": "0.5000"}  # (0 + 90) / (120 + 60)
    december = subscription_metrics.metrics(ctx(team["admin"]), {"month": "2026-12", "currency": "EUR"})
    assert (december["mrr"], december["contraction"], december["new"], december["nrr"]) == (
        "329.97", "60.00", "0.00", "0.8461")  # (299.97 + 30.00) / 389.97 = 0.84614...
    # a rep's figures are over the subscriptions they may read
    mine = subscription_metrics.metrics(ctx(team["r3"]), {"month": "2026-11", "currency": "EUR"})
    assert (mine["mrr"], mine["expansion"]) == ("90.00", "30.00")
