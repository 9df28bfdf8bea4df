"""Subscriptions through the gateway, as a new user would: a customer subscribes, upgrades mid-period (prorated
exactly, in decimals), renews on time and cancels, and the month's MRR figures move as they should."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import pytest

from crm_common.testing import rpc
from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e


def uniq() -> str:
    return uuid.uuid4().hex[:8]


def add_month(day: date) -> date:
    import calendar
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def currency() -> str:
    """A currency of this test's own, so that the month's figures are this test's alone."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return "Q" + "".join(letters[b % 26] for b in uuid.uuid4().bytes[:2])


def run_renewals(suite, on: date) -> dict:
    env = suite.suite.env
    return rpc.call(env["AMQP_URI"], env["CRM_BUS_KEY_FILE"], "sales", "run_subscriptions", on=on.isoformat())


@pytest.fixture
def manager(admin):
    return admin.as_new_user(["sales_manager"])


def test_subscribe_upgrade_renew_cancel_and_the_figures(admin, suite, manager):
    money = currency()
    basic = manager.post("/api/v1/plans", json={"name": f"Basic {uniq()}", "price": "30.00", "currency": money,
                                                "period": "month"})
    assert basic.status_code == 201, basic.text
    assert basic.headers["Location"].endswith(f"/api/v1/plans/{basic.json()['id']}")
    pro = manager.post("/api/v1/plans", json={"name": f"Pro {uniq()}", "price": "99.99", "currency": money,
                                              "period": "month", "renewal_reminder_days": 5}).json()
    rep = admin.as_new_user(["sales_rep"])
    account = rep.post("/api/v1/accounts", json={"name": f"Subscriber {uniq()}"}).json()

    today = datetime.now(timezone.utc).date()
    starts = today - timedelta(days=10)
    created = rep.post("/api/v1/subscriptions", json={"account_id": account["id"], "plan_id": basic.json()["id"],
                                                      "quantity": 2, "starts_on": starts.isoformat()})
    assert created.status_code == 201, created.text
    sub = created.json()
    end = add_month(starts)
    assert (sub["status"], sub["mrr"], sub["currency"], sub["renews_on"]) == ("active", "60.00", money, end.isoformat())

    upgraded = rep.post(f"/api/v1/subscriptions/{sub['id']}/change-plan", json={"plan_id": pro["id"], "quantity": 3})
    assert upgraded.status_code == 200, upgraded.text
    # the rule (README): the difference of a whole period, times the days left over the days of the period
    days, left = (end - starts).days, (end - today).days
    expected = ((Decimal("299.97") - Decimal("60.00")) * left / days).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert upgraded.json()["proration"] == {"amount": str(expected), "currency": money, "days_left": left,
                                            "days_in_period": days}
    assert upgraded.json()["subscription"]["mrr"] == "299.97"

    # renews on time: the scan as of the renewal day (the timer runs it each CRM_SALES_SUBSCRIPTION_INTERVAL)
    assert run_renewals(suite, end - timedelta(days=1))["renewed"] == 0
    assert run_renewals(suite, end)["renewed"] >= 1
    renewed = rep.get(f"/api/v1/subscriptions/{sub['id']}").json()
    assert (renewed["period_start"], renewed["renews_on"]) == (end.isoformat(), add_month(end).isoformat())

    cancelled = rep.post(f"/api/v1/subscriptions/{sub['id']}/cancel", json={"reason": "budget cut"})
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["mrr"]) == ("cancelled", "0.00")
    again = rep.post(f"/api/v1/subscriptions/{sub['id']}/cancel", json={"reason": "twice"})
    assert again.status_code == 409 and again.headers["Content-Type"].startswith("application/problem+json")

    this_month = admin.get("/api/v1/subscriptions/metrics", params={"month": today.strftime("%Y-%m"),
                                                                       "currency": money})
    assert this_month.status_code == 200, this_month.text
    figures = this_month.json()
    assert (figures["mrr"], figures["arr"], figures["expansion"], figures["churned"]) == (
        "0.00", "0.00", "239.97", "299.97")
    started = admin.get("/api/v1/subscriptions/metrics", params={"month": starts.strftime("%Y-%m"),
                                                                  "currency": money}).json()
    assert started["new"] == "60.00"

    entries = eventually(lambda: admin.get("/api/v1/audit", params={"entity_type": "subscription",
                                                                     "entity_id": sub["id"]}).json()["items"],
                         until=lambda items: len(items) >= 4)
    assert {e["event_type"] for e in entries} >= {"sales.subscription_created.v1", "sales.subscription_changed.v1",
                                                   "sales.subscription_renewed.v1", "sales.subscription_cancelled.v1"}


def test_bad_input_is_a_422_and_a_denied_or_foreign_call_changes_nothing(admin, manager):
    plan = manager.post("/api/v1/plans", json={"name": f"Plan {uniq()}", "price": "10.00", "currency": "EUR",
                                               "period": "quarter", "trial_days": 14}).json()
    rep = admin.as_new_user(["sales_rep"])
    account = rep.post("/api/v1/accounts", json={"name": f"Trial {uniq()}"}).json()
    bad = rep.post("/api/v1/subscriptions", json={"account_id": account["id"], "plan_id": plan["id"], "quantity": 0})
    assert bad.status_code == 422 and "quantity" in bad.json()["errors"]
    missing = rep.post("/api/v1/subscriptions", json={"account_id": account["id"], "plan_id": str(uuid.uuid4())})
    assert missing.status_code == 422 and "plan_id" in missing.json()["errors"]
    rate = rep.post("/api/v1/plans", json={"name": "Mine", "price": "1.00", "currency": "EUR", "period": "month"})
    assert rate.status_code == 403

    trial = rep.post("/api/v1/subscriptions", json={"account_id": account["id"], "plan_id": plan["id"]}).json()
    assert (trial["status"], trial["mrr"]) == ("trial", "0.00")
    agent = admin.as_new_user(["support_agent"])
    assert agent.get(f"/api/v1/subscriptions/{trial['id']}").json()["status"] == "trial"  # service reads it
    assert agent.post(f"/api/v1/subscriptions/{trial['id']}/cancel", json={"reason": "no"}).status_code == 403
    other = admin.as_new_user(["sales_rep"])
    assert other.get(f"/api/v1/subscriptions/{trial['id']}").status_code == 404
    assert other.post(f"/api/v1/subscriptions/{trial['id']}/cancel", json={"reason": "no"}).status_code == 404
    assert rep.get(f"/api/v1/subscriptions/{trial['id']}").json()["status"] == "trial"


def test_content_subscriptions_are_kept_per_contact_and_topic(admin):
    rep = admin.as_new_user(["sales_rep"])
    contact = rep.post("/api/v1/contacts", json={"first_name": "News", "last_name": "Reader",
                                                 "email": f"reader-{uniq()}@example.com"}).json()
    first = rep.post("/api/v1/content-subscriptions", json={"contact_id": contact["id"], "topic": "newsletter"})
    assert first.status_code == 201, first.text
    again = rep.post("/api/v1/content-subscriptions", json={"contact_id": contact["id"], "topic": "newsletter"})
    assert again.json()["id"] == first.json()["id"]
    left = rep.post(f"/api/v1/content-subscriptions/{first.json()['id']}/unsubscribe")
    assert left.status_code == 200 and left.json()["subscribed"] is False
    listed = rep.get("/api/v1/content-subscriptions", params={"contact_id": contact["id"]}).json()["items"]
    assert [(i["topic"], i["subscribed"]) for i in listed] == [("newsletter", False)]
