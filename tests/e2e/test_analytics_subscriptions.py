"""Recurring revenue in analytics through the gateway (issue 19): subscriptions made, upgraded and cancelled in
sales show in `GET /analytics/subscriptions` within seconds (MRR, ARR, new, expansion, churned, paying), a rep
sees their own customers' only, and a filter the figure does not have is a 422."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e


def uniq() -> str:
    return uuid.uuid4().hex[:8]


def currency() -> str:
    """A currency of this test's own, so that the figures are this test's alone."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return "Q" + "".join(letters[b % 26] for b in uuid.uuid4().bytes[:2])


def figure(client, **params):
    response = client.get("/api/v1/analytics/subscriptions", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_subscriptions_move_the_mrr_figures_and_a_rep_sees_their_own(admin):
    money = currency()
    manager = admin.as_new_user(["sales_manager"])
    basic = manager.post("/api/v1/plans", json={"name": f"Basic {uniq()}", "price": "30.00", "currency": money,
                                                "period": "month"}).json()
    pro = manager.post("/api/v1/plans", json={"name": f"Pro {uniq()}", "price": "99.99", "currency": money,
                                              "period": "month"}).json()
    rep, rep2 = admin.as_new_user(["sales_rep"]), admin.as_new_user(["sales_rep"])
    today = datetime.now(timezone.utc).date()
    month = {"from": today.replace(day=1).isoformat(), "to": today.isoformat(), "currency": money}
    subs = []
    for who, quantity in ((rep, 2), (rep2, 1)):
        account = who.post("/api/v1/accounts", json={"name": f"Subscriber {uniq()}"}).json()
        made = who.post("/api/v1/subscriptions", json={"account_id": account["id"], "plan_id": basic["id"],
                                                       "quantity": quantity, "starts_on": today.isoformat()})
        assert made.status_code == 201, made.text
        subs.append(made.json())
    upgraded = rep.post(f"/api/v1/subscriptions/{subs[0]['id']}/change-plan", json={"plan_id": pro["id"], "quantity": 3})
    assert upgraded.status_code == 200, upgraded.text

    # by hand: 2 x 30 + 1 x 30 new, then 60 -> 3 x 99.99 = 299.97 (expansion 239.97): MRR 329.97
    figures = eventually(lambda: figure(admin, **month), timeout=20,
                         until=lambda f: f["items"] and f["items"][-1]["mrr"] == "329.97")
    now = figures["items"][-1]
    assert (now["new"], now["expansion"], now["churned"], now["arr"], now["active"]) == (
        "90.00", "239.97", "0.00", "3959.64", 2)
    assert figures["totals"]["by_currency"][money] == {"mrr": "329.97", "arr": "3959.64", "active": 2,
                                                        "subscriptions": 2}
    own = figure(rep, **month)["items"][-1]
    assert (own["mrr"], own["new"], own["active"]) == ("299.97", "60.00", 1)  # not rep2's customer

    cancelled = rep.post(f"/api/v1/subscriptions/{subs[0]['id']}/cancel", json={"reason": "budget cut"})
    assert cancelled.status_code == 200, cancelled.text
    after = eventually(lambda: figure(admin, **month), timeout=20,
                       until=lambda f: f["items"][-1]["mrr"] == "30.00")["items"][-1]
    assert (after["churned"], after["active"], after["net_new"]) == ("299.97", 1, "30.00")

    refused = admin.get("/api/v1/analytics/subscriptions", params={"group_by": "owner"})
    assert refused.status_code == 422 and refused.headers["Content-Type"].startswith("application/problem+json")
    assert "group_by" in refused.text
