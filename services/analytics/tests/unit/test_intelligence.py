"""RFM, historic CLV, churn risk with reasons, cohorts and the CRM's KPIs, from events."""
from __future__ import annotations

import pytest

import crm_analytics_contracts as c
from crm_common.errors import ServiceError

from crm_analytics.domain import intelligence, kpis

# T0 is 2026-11-02: day offsets below are from it; as of 2026-12-31
AS_OF = {"to": "2026-12-31"}


def q(**args):
    return c.FigureQuery().load({**AS_OF, **args})


@pytest.fixture
def customers(feed):
    for acc in ("champ", "lapsed", "once"):
        feed("sales.account_created.v1", {"id": acc, "name": acc.title(), "owner_id": "rep-1"}, -300)
    n = 0

    def order(acc, days, total):
        nonlocal n
        n += 1
        feed("sales.order_placed.v1", {"id": f"ord{n}", "account_id": acc, "status": "placed", "total": total,
                                       "currency": "EUR"}, days)
    for days in (-250, -200, -120, -60, -30, 40, 56):
        order("champ", days, "1000.00")
    for days in (-280, -250, -220, -200):
        order("lapsed", days, "400.00")
    order("once", 55, "50.00")
    feed("service_desk.ticket_opened.v1", {"id": "t1", "number": "T1", "account_id": "lapsed", "assignee_id": "ag"}, -210)
    feed("service_desk.complaint_opened.v1", {"id": "cp1", "ticket_id": "t1", "status": "open"}, -205)
    feed("service_desk.survey_answered.v1", {"id": "s1", "ticket_id": "t1", "score": 3, "kind": "nps"}, -204)


def test_rfm_scores_and_segments(ctx_as, customers):
    answer = intelligence.rfm(ctx_as("admin", "adm"), q())
    by_id = {i["account_id"]: i for i in answer["items"]}
    assert (by_id["champ"]["frequency"], by_id["champ"]["monetary"], by_id["champ"]["segment"]) == (7, "7000.00", "champions")
    assert by_id["lapsed"]["segment"] in ("at_risk", "lost") and by_id["lapsed"]["recency_days"] > 200
    assert (by_id["once"]["frequency"], by_id["once"]["r"], by_id["once"]["f"]) == (1, 3, 1)
    assert answer["as_of_day"] == "2026-12-31"
    assert intelligence.rfm(ctx_as("sales_rep", "rep-2"), q())["items"] == []  # not their accounts


def test_historic_clv(ctx_as, customers):
    answer = intelligence.clv(ctx_as("admin", "adm"), q())
    champ = answer["items"][0]
    assert (champ["account_id"], champ["method"], champ["value_to_date"], champ["orders"], champ["average_order"]) == (
        "champ", "historic", "7000.00", 7, "1000.00")
    assert answer["totals"]["value_to_date"] == "8650.00" and answer["totals"]["method"] == "historic"


def test_churn_risk_names_its_reasons(ctx_as, customers):
    items = {i["account_id"]: i for i in intelligence.churn_risk(ctx_as("admin", "adm"), q())["items"]}
    lapsed = items["lapsed"]
    assert [r["reason"] for r in lapsed["reasons"]] == ["inactivity", "open_complaints", "low_survey_scores"]
    assert (lapsed["risk"], lapsed["level"]) == (75, "high")
    assert items["champ"]["risk"] == 0 and items["champ"]["reasons"] == []


def test_cohorts_by_first_order_month(ctx_as, customers):
    answer = intelligence.cohorts(ctx_as("admin", "adm"), q())
    assert [(i["key"], i["accounts"]) for i in answer["items"]] == [("2026-01", 1), ("2026-02", 1), ("2026-12", 1)]
    lapsed = answer["items"][0]
    assert lapsed["retention"][0] == 1.0 and lapsed["retention"][1] == 1.0 and lapsed["retention"][-1] == 1.0


def test_kpis_month_by_month(ctx_as, customers, feed):
    feed("sales.opportunity_created.v1", {"id": "w1", "owner_id": "rep-1", "amount": "500.00", "currency": "EUR",
                                          "stage": "closed_won", "probability": 100,
                                          "closed_at": "2026-11-20T10:00:00Z"}, 18)
    answer = kpis.kpis(ctx_as("admin", "adm"), c.FigureQuery().load({"from": "2026-10-01", "to": "2026-12-31"}))
    months = {i["month"]: i for i in answer["items"]}
    assert list(months) == ["2026-10", "2026-11", "2026-12"]
    assert months["2026-11"]["won"] == {"EUR": "500.00"}
    assert months["2026-12"]["active_customers"] == 2 and months["2026-11"]["churn_rate"] == 1.0  # champ: Oct, not Nov
    with pytest.raises(ServiceError) as refused:
        kpis.kpis(ctx_as("admin", "adm"), c.FigureQuery().load({"group_by": "owner"}))
    assert "group_by" in refused.value.errors
