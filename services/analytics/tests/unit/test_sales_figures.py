"""Sales figures from events: pipeline, funnel, win rate, cycle, forecast; scope; 422 on bad filters."""
from __future__ import annotations

import pytest

import crm_analytics_contracts as c
from crm_common.context import SYSTEM, Context
from crm_common.errors import ServiceError
from crm_common.testing.events import Events

from crm_analytics.domain import log
from crm_analytics.domain import sales_figures as figures


def opp(feed, id_, owner, stage="prospecting", amount="1000.00", prob=10, days=0, team="t-1", **extra):
    data = {"id": id_, "name": id_, "owner_id": owner, "team_id": team, "territory_id": None, "amount": amount,
            "currency": "EUR", "stage": stage, "probability": prob, "expected_close_date": "2026-11-30",
            "campaign_id": None, "closed_at": None, **extra}
    feed("sales.opportunity_created.v1", data, days)
    return data


def move(feed, data, to, prob, days, closed=False):
    feed("sales.opportunity_stage_changed.v1", {"id": data["id"], "from_stage": data["stage"], "to_stage": to,
                                                "probability": prob, "amount": data["amount"], "currency": "EUR",
                                                "owner_id": data["owner_id"]}, days)
    data.update(stage=to, probability=prob)
    if closed:
        data["closed_at"] = f"2026-11-{2 + days:02d}T09:00:00Z"
        feed(f"sales.opportunity_{'won' if to == 'closed_won' else 'lost'}.v1", data, days)


@pytest.fixture
def deals(feed):
    a = opp(feed, "o1", "rep-1", amount="1000.00")
    b = opp(feed, "o2", "rep-1", stage="negotiation", amount="3000.00", prob=75)
    c_ = opp(feed, "o3", "rep-2", amount="500.00")
    d = opp(feed, "o4", "rep-2", amount="2000.00")
    move(feed, d, "qualification", 25, 2)
    move(feed, d, "closed_won", 100, 6, closed=True)
    e = opp(feed, "o5", "rep-1", amount="700.00")
    move(feed, e, "closed_lost", 0, 4, closed=True)
    return a, b, c_, d, e


def q(**args):
    return c.FigureQuery().load(args)


def test_pipeline_counts_open_deals_by_stage_with_weighted_amounts(ctx_as, deals):
    answer = figures.pipeline(ctx_as("admin", "adm"), q())
    by_stage = {i["stage"]: i for i in answer["items"]}
    assert (by_stage["prospecting"]["count"], by_stage["prospecting"]["amount"]) == (2, "1500.00")
    assert by_stage["prospecting"]["weighted"] == "150.00"
    assert (by_stage["negotiation"]["count"], by_stage["negotiation"]["weighted"]) == (1, "2250.00")
    assert answer["totals"]["count"] == 3 and answer["totals"]["by_currency"][0]["amount"] == "4500.00"
    owners = {(i["key"], i["stage"]): i["count"] for i in figures.pipeline(ctx_as("admin", "a"),
                                                                           q(group_by="owner"))["items"]}
    assert owners == {("rep-1", "prospecting"): 1, ("rep-1", "negotiation"): 1, ("rep-2", "prospecting"): 1}


def test_a_rep_sees_only_their_own_pipeline_and_a_manager_their_team(ctx_as, deals, feed):
    opp(feed, "o9", "rep-9", team="t-2")
    mine = figures.pipeline(ctx_as("sales_rep", "rep-1"), q())
    assert mine["totals"]["count"] == 2
    team = figures.pipeline(ctx_as("sales_manager", "mgr", team_id="t-1"), q())
    assert team["totals"]["count"] == 3  # o9 is another team's
    assert figures.pipeline(ctx_as("support_agent", "ag"), q())["totals"]["count"] == 0


def test_win_rate_average_deal_size_and_cycle(ctx_as, deals):
    ctx = ctx_as("admin", "adm")
    rate = figures.win_rate(ctx, q(group_by="owner"))
    assert rate["totals"] == {"won": 1, "lost": 1, "win_rate": 0.5}
    rep2 = next(i for i in rate["items"] if i["key"] == "rep-2")
    assert (rep2["won"], rep2["average_deal_size"], rep2["win_rate"]) == (1, "2000.00", 1.0)
    cycle = figures.sales_cycle(ctx, q())
    assert cycle["totals"]["deals"] == 1 and cycle["totals"]["median_days"] == 6.0
    stages = {s["stage"]: s for s in cycle["time_in_stage"]}
    assert stages["prospecting"]["average_days"] == 3.0  # o4: 2 days, o5: 4 days
    assert stages["qualification"]["median_days"] == 4.0


def test_forecast_against_a_target(ctx_as, deals):
    answer = figures.forecast(ctx_as("admin", "adm"), c.ForecastQuery().load({"target": "4000.00",
                                                                              "from": "2026-11-01", "to": "2026-11-30"}))
    totals = answer["totals"]["by_currency"][0]
    assert (totals["pipeline"], totals["weighted"], totals["commit"], totals["closed_won"]) == (
        "4500.00", "2400.00", "3000.00", "2000.00")
    assert answer["totals"]["attainment"] == "50.0"


def target(feed, id_, period, user, amount, action="create"):
    feed("sales.target_set.v1", {"id": id_, "action": action, "changed_fields": [], "period": period,
                                 "user_id": user, "team_id": None, "territory_id": None, "amount": amount,
                                 "currency": "EUR"})


def test_forecast_against_the_targets_sales_set_for_the_period(ctx_as, feed, deals):
    target(feed, "t1", "2026-11", "rep-2", "4000.00")
    target(feed, "t1", "2026-11", "rep-2", "5000.00", action="update")
    target(feed, "t2", "2026-Q4", "rep-1", "9000.00")  # a quarter: not within November
    target(feed, "t3", "2026-11", "rep-1", "100.00")
    feed("sales.record_changed.v1", {"entity": "target", "id": "t3", "action": "delete", "changed_fields": []})
    november = figures.forecast(ctx_as("admin", "adm"), c.ForecastQuery().load(
        {"from": "2026-11-01", "to": "2026-11-30", "group_by": "owner"}))
    by_owner = {i["key"]: i for i in november["items"]}
    assert (by_owner["rep-2"]["closed_won"], by_owner["rep-2"]["target"], by_owner["rep-2"]["attainment"]) == (
        "2000.00", "5000.00", "40.0")
    assert "target" not in by_owner["rep-1"]  # its November target was deleted
    assert (november["totals"]["target"], november["totals"]["attainment"]) == ("5000.00", "40.0")
    quarter = figures.forecast(ctx_as("admin", "adm"), c.ForecastQuery().load({"from": "2026-10-01",
                                                                              "to": "2026-12-31"}))
    assert (quarter["totals"]["target"], quarter["totals"]["attainment"]) == ("14000.00", "14.3")
    assert quarter["totals"]["by_currency"][0]["target"] == "14000.00"


def test_funnel_from_lead_to_won_by_source(ctx_as, feed, deals):
    for i, source in enumerate(("web", "web", "web", "fair")):
        feed("sales.lead_created.v1", {"id": f"l{i}", "owner_id": "rep-1", "source": source, "status": "new"})
    feed("sales.lead_converted.v1", {"id": "l0", "account_id": "a1", "contact_id": "c1", "opportunity_id": "o4"})
    feed("sales.lead_converted.v1", {"id": "l1", "account_id": "a2", "contact_id": "c2", "opportunity_id": "o1"})
    feed("sales.lead_converted.v1", {"id": "l3", "account_id": "a3", "contact_id": "c3", "opportunity_id": None})
    answer = figures.funnel(ctx_as("admin", "adm"), q(group_by="source"))
    web = next(i for i in answer["items"] if i["key"] == "web")
    assert (web["leads"], web["converted"], web["opportunities"], web["won"]) == (3, 2, 2, 1)
    assert web["conversion"]["lead_to_converted"] == round(2 / 3, 4) and web["conversion"]["opportunity_to_won"] == 0.5
    assert answer["totals"]["leads"] == 4 and answer["totals"]["converted"] == 3
    # the deal keeps the lead's source: win rate by source
    by_source = figures.win_rate(ctx_as("admin", "adm"), q(group_by="source"))["items"]
    assert {i["key"]: i["won"] for i in by_source}.get("web") == 1


def test_bad_filters_are_a_422_naming_the_field(ctx_as, deals):
    with pytest.raises(Exception) as raised:
        q(group_by="colour")
    assert "group_by" in raised.value.messages
    with pytest.raises(Exception) as raised:
        q(**{"from": "2026-12-01", "to": "2026-11-01"})
    assert "to" in raised.value.messages
    with pytest.raises(ServiceError) as refused:
        figures.funnel(ctx_as("admin", "adm"), q(group_by="stage"))
    assert refused.value.code == "validation_failed" and "group_by" in refused.value.errors
    with pytest.raises(ServiceError) as refused:
        figures.funnel(ctx_as("admin", "adm"), q(currency="EUR"))
    assert "currency" in refused.value.errors


def test_months_and_periods(ctx_as, deals):
    answer = figures.win_rate(ctx_as("admin", "adm"), q(group_by="month"))
    assert [i["key"] for i in answer["items"]] == ["2026-11"]
    assert figures.win_rate(ctx_as("admin", "adm"), q(**{"from": "2026-12-01"}))["totals"]["won"] == 0


def test_events_taken_out_of_order_leave_the_newest_state(ctx_as, feed):
    data = {"id": "ox", "name": "ox", "owner_id": "rep-1", "team_id": "t-1", "amount": "100.00", "currency": "EUR",
            "stage": "prospecting", "probability": 10, "expected_close_date": "2026-11-30"}
    feed("sales.opportunity_stage_changed.v1", {"id": "ox", "from_stage": "prospecting", "to_stage": "negotiation",
                                                "probability": 75, "amount": "100.00", "currency": "EUR",
                                                "owner_id": "rep-1"}, 1)
    feed("sales.opportunity_created.v1", data, 0)  # consumed after the later change
    items = figures.pipeline(ctx_as("sales_rep", "rep-1"), q())["items"]
    assert [(i["stage"], i["count"], i["weighted"]) for i in items] == [("negotiation", 1, "75.00")]


def test_a_deal_created_after_its_lead_was_converted_keeps_the_leads_source(ctx_as, feed, session):
    feed("sales.lead_created.v1", {"id": "l7", "owner_id": "rep-1", "source": "fair", "status": "new"})
    feed("sales.lead_converted.v1", {"id": "l7", "account_id": "a7", "contact_id": "c7", "opportunity_id": "o7"})
    # the deal's creation comes later, in a batch with others: the batch reads the leads converted into its deals
    envelopes = [{"event_id": f"e-{id_}", "type": "sales.opportunity_created.v1", "producer": "sales",
                  "occurred_at": "2026-11-02T09:00:00Z", "actor": {"user_id": "u-1"},
                  "data": {"id": id_, "name": id_, "owner_id": "rep-1", "amount": "1000.00", "currency": "EUR",
                           "stage": "prospecting", "probability": 10}} for id_ in ("o6", "o7", "o8")]
    log.keep_many(Context(session, SYSTEM, Events(), "r"), envelopes)
    by_source = {i["key"]: i["count"] for i in figures.pipeline(ctx_as("admin", "adm"), q(group_by="source"))["items"]}
    assert by_source.get("fair") == 1 and sum(by_source.values()) == 3
