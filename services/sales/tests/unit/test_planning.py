from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
import time_machine

import crm_sales_contracts as c
from crm_common.entrypoint import Context
from crm_common.errors import ServiceError
from crm_sales.domain import commissions, expenses, forecast, opportunities, periods, settings, targets


def test_periods():
    assert periods.period_bounds("2026-Q4") == (date(2026, 10, 1), date(2027, 1, 1))
    assert periods.period_bounds("2026-02") == (date(2026, 2, 1), date(2026, 3, 1))
    assert periods.period_bounds("2026") == (date(2026, 1, 1), date(2027, 1, 1))


def _deals(session, team, events):
    for who, amount, stage, extra in (("r1", "1000.00", "proposal", {}), ("r1", "500.00", "negotiation",
                                                                          {"forecast_category": "commit"}),
                                      ("r2", "2000.00", "prospecting", {}), ("r3", "700.00", "proposal", {})):
        opportunities.create(Context(session, team[who], events), {"name": "D", "amount": amount, "currency": "EUR",
                                                                   "stage": stage,
                                                                   "expected_close_date": date(2026, 11, 15), **extra})
    with time_machine.travel(datetime(2026, 11, 20, tzinfo=timezone.utc)):
        won = opportunities.create(Context(session, team["r2"], events), {"name": "W", "amount": "3000.00",
                                                                          "currency": "EUR",
                                                                          "expected_close_date": date(2026, 11, 20)})
        opportunities.update(Context(session, team["r2"], events), won.id, {"stage": "closed_won"})


def test_forecast_by_owner_with_targets_and_scope(session, team, events, ctx):
    _deals(session, team, events)
    targets.create(ctx(team["m1"]), {"period": "2026-Q4", "user_id": "r2", "amount": "6000.00",
                                     "currency": "EUR"})
    result = forecast.forecast(ctx(team["m1"]), {"period": "2026-Q4", "group_by": "owner", "currency": "EUR"})
    rows = {g["key"]: g for g in result["groups"]}
    assert set(rows) == {"r1", "r2"}  # r3 is in another team
    assert rows["r1"] == {"key": "r1", "pipeline": "1500.00", "weighted": "875.00", "commit": "500.00",
                          "closed_won": "0.00", "target": None, "attainment": None}
    assert (rows["r2"]["closed_won"], rows["r2"]["target"], rows["r2"]["attainment"]) == ("3000.00", "6000.00",
                                                                                          "50.00")
    assert result["totals"]["pipeline"] == "3500.00"
    by_team = forecast.forecast(ctx(team["admin"]), {"period": "2026-Q4", "group_by": "team"})
    assert {g["key"]: g["pipeline"] for g in by_team["groups"]} == {"t1": "3500.00", "t2": "700.00"}
    mine = forecast.forecast(ctx(team["r1"]), {"period": "2026-Q4", "group_by": "owner"})
    assert [g["key"] for g in mine["groups"]] == ["r1"]
    assert forecast.forecast(ctx(team["m1"]), {"period": "2027-Q1"})["groups"] == []


def test_commissions_at_default_and_personal_rates(session, team, events, ctx):
    _deals(session, team, events)
    result = commissions.commissions(ctx(team["m1"]), {"period": "2026-11"})
    assert result["items"] == [{"owner_id": "r2", "closed_won": "3000.00", "deals": 1, "rate_percent": "5.00",
                                "commission": "150.00", "currency": "EUR"}]
    settings.update(ctx(), {"commission_rates": {"r2": "7.5"}})
    assert commissions.commissions(ctx(team["r2"]), {"period": "2026"})["items"][0]["commission"] == "225.00"
    assert commissions.commissions(ctx(team["r1"]), {"period": "2026"})["items"] == []


def test_a_manager_may_not_set_another_teams_target(session, team, events, ctx):
    with pytest.raises(ServiceError):
        targets.create(ctx(team["m1"]), {"period": "2026-Q4", "user_id": "r3", "amount": "1.00",
                                         "currency": "EUR"})


def test_expense_claims_are_approved_by_the_manager(session, team, events, ctx):
    claim = expenses.create(ctx(team["r1"]), {"amount": "42.10", "currency": "EUR", "category": "meals",
                                              "incurred_on": date(2026, 11, 2)})
    assert claim.status == "submitted" and claim.team_id == "t1"
    with pytest.raises(ServiceError) as rep:
        expenses.decide(ctx(team["r2"]), claim.id, {"note": None}, approve=True)
    assert rep.value.code == "not_found"  # another rep cannot even see it
    with pytest.raises(ServiceError):
        expenses.decide(ctx(team["r1"]), claim.id, {"note": None}, approve=True)
    approved = expenses.decide(ctx(team["m1"]), claim.id, {"note": "ok"}, approve=True)
    assert (approved.status, approved.decided_by) == ("approved", "m1")
    with pytest.raises(ServiceError) as again:
        expenses.update(ctx(team["r1"]), claim.id, {"amount": "1.00"})
    assert again.value.code == "conflict"


def test_a_claim_above_the_approval_amount_waits_for_its_approval_chain(session, team, events, ctx, monkeypatch):
    monkeypatch.setenv("CRM_SALES_EXPENSE_APPROVAL_AMOUNT", "100.00")
    small = expenses.create(ctx(team["r1"]), {"amount": "100.00", "currency": "EUR", "category": "meals",
                                              "incurred_on": date(2026, 11, 2)})
    claim = expenses.create(ctx(team["r1"]), {"amount": "100.01", "currency": "EUR", "category": "travel",
                                              "incurred_on": date(2026, 11, 2)})
    assert events.of(c.EXPENSE_APPROVAL_REQUESTED) == [{"id": claim.id, "owner_id": "r1", "amount": "100.01",
                                                        "currency": "EUR", "category": "travel", "limit": "100.00"}]
    with pytest.raises(ServiceError) as direct:  # the manager's direct decision is the chain's now
        expenses.decide(ctx(team["m1"]), claim.id, {"note": None}, approve=True)
    assert direct.value.code == "conflict" and direct.value.extra == {"needs_approval": True}
    assert claim.status == "submitted"
    raised = expenses.update(ctx(team["r1"]), small.id, {"amount": "250.00"})  # raised above: asks as well
    assert [e["id"] for e in events.of(c.EXPENSE_APPROVAL_REQUESTED)] == [claim.id, raised.id]

    decided = {"resource": "expense", "record_id": claim.id, "status": "approved", "decided_by": "m1",
               "comment": "receipts fine"}
    expenses.approval_decided(ctx(), decided)
    assert (claim.status, claim.decided_by, claim.decision_note) == ("approved", "m1", "receipts fine")
    expenses.approval_decided(ctx(), {**decided, "status": "rejected"})  # decided once: a repeat changes nothing
    assert claim.status == "approved"
    expenses.approval_decided(ctx(), {"resource": "expense", "record_id": raised.id, "status": "rejected",
                                      "decided_by": "m1", "comment": None})
    assert (raised.status, raised.decision_note) == ("rejected", None)
