"""Recurring revenue from sales' subscription events: MRR and ARR at each month's end, the MRR that moved in
the month (new, expansion, contraction, churned), paying subscriptions, over the caller's scope."""
from __future__ import annotations

import pytest

import crm_analytics_contracts as c
from crm_common.errors import ServiceError

from crm_analytics.domain.subscription_figures import subscriptions


def sub(feed, type_, id_, account, before, after, movement, day, status="active", currency="EUR"):
    feed(f"sales.subscription_{type_}.v1", {
        "id": id_, "account_id": account, "plan_id": "p", "quantity": 1, "status": status, "currency": currency,
        "movement": movement, "mrr_before": before, "mrr_after": after, "effective_on": day,
        "renews_on": None, "changed_fields": [], "proration": None, "reason": None})


def query(**kw):
    return c.FigureQuery().load({"from": "2026-11-01", "to": "2026-12-31", **kw})


def test_mrr_moves_month_by_month_and_a_rep_sees_their_accounts_only(feed, ctx_as):
    feed("sales.account_created.v1", {"id": "acc-1", "name": "A", "owner_id": "rep-1"})
    feed("sales.account_created.v1", {"id": "acc-2", "name": "B", "owner_id": "rep-2"})
    sub(feed, "created", "s1", "acc-1", "0.00", "60.00", "new", "2026-11-03")
    sub(feed, "changed", "s1", "acc-1", "60.00", "299.97", "expansion", "2026-11-10")
    sub(feed, "created", "s2", "acc-2", "0.00", "30.00", "new", "2026-11-20")
    sub(feed, "created", "s3", "acc-2", "0.00", "10.00", "new", "2026-11-21", currency="USD")
    sub(feed, "cancelled", "s1", "acc-1", "299.97", "0.00", "churn", "2026-12-05", status="cancelled")
    sub(feed, "changed", "s2", "acc-2", "30.00", "20.00", "contraction", "2026-12-06")

    admin = subscriptions(ctx_as("admin", "adm"), query(currency="EUR"))
    nov, dec = admin["items"]
    assert (nov["month"], nov["mrr"], nov["arr"], nov["new"], nov["expansion"], nov["active"]) == (
        "2026-11", "329.97", "3959.64", "90.00", "239.97", 2)
    assert nov["net_new"] == "329.97" and nov["nrr"] is None  # no MRR at the month's start
    assert (dec["mrr"], dec["churned"], dec["contraction"], dec["new"], dec["active"]) == (
        "20.00", "299.97", "10.00", "0.00", 1)
    assert dec["net_new"] == "-309.97" and dec["nrr"] == str(round(20 / 329.97, 4))
    assert admin["totals"]["by_currency"] == {"EUR": {"mrr": "20.00", "arr": "240.00", "active": 1,
                                                      "subscriptions": 2}}
    both = subscriptions(ctx_as("admin", "adm"), query())
    assert {i["currency"] for i in both["items"]} == {"EUR", "USD"}

    rep = subscriptions(ctx_as("sales_rep", "rep-1"), query())
    assert [(i["month"], i["mrr"], i["churned"]) for i in rep["items"]] == [("2026-11", "299.97", "0.00"),
                                                                           ("2026-12", "0.00", "299.97")]
    assert rep["totals"]["by_currency"] == {"EUR": {"mrr": "0.00", "arr": "0.00", "active": 0, "subscriptions": 1}}


def test_a_filter_the_figure_does_not_have_is_refused(ctx_as):
    with pytest.raises(ServiceError) as refused:
        subscriptions(ctx_as("admin", "adm"), query(group_by="owner"))
    assert refused.value.code == "validation_failed" and "group_by" in str(refused.value)
