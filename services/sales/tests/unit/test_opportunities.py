from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from crm_common.db import utcnow
from crm_common.entrypoint import Context
from crm_common.errors import ServiceError
import crm_sales_contracts as c
from crm_sales.domain import opportunities


def deal(session, who, events, **fields):
    return opportunities.create(Context(session, who, events), {"name": "Deal", "amount": "1000.00", "currency": "EUR",
                                                                **fields})


def test_stages_carry_default_probabilities_and_history(session, team, events, ctx):
    start = utcnow()
    with time_machine.travel(start, tick=False):
        opp = deal(session, team["r1"], events)
    assert (opp.stage, opp.probability) == ("prospecting", 10)
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        opportunities.update(ctx(team["r1"]), opp.id, {"stage": "proposal"})
    assert opp.probability == 50
    with time_machine.travel(start + timedelta(hours=5), tick=False):
        opportunities.update(ctx(team["m1"]), opp.id, {"stage": "closed_won"})
        history = opportunities.history(ctx(team["r1"]), opp.id)["items"]
    assert [(h["stage"], h["probability"], h["changed_by"]) for h in history] == [
        ("prospecting", 10, "r1"), ("proposal", 50, "r1"), ("closed_won", 100, "m1")]
    assert [h["seconds_in_stage"] for h in history] == [7200, 10800, 0]
    assert opp.closed_at is not None
    changed = events.of(c.OPPORTUNITY_STAGE_CHANGED)
    assert [(e["from_stage"], e["to_stage"], e["probability"]) for e in changed] == [
        ("prospecting", "proposal", 50), ("proposal", "closed_won", 100)]
    assert changed[-1]["amount"] == "1000.00" and len(events.of(c.OPPORTUNITY_WON)) == 1


def test_lost_needs_a_reason(session, team, events, ctx):
    opp = deal(session, team["r1"], events)
    with pytest.raises(ServiceError) as no_reason:
        opportunities.update(ctx(team["r1"]), opp.id, {"stage": "closed_lost"})
    assert "lost_reason" in no_reason.value.errors and opp.stage == "prospecting"
    opportunities.update(ctx(team["r1"]), opp.id, {"stage": "closed_lost", "lost_reason": "price"})
    assert (opp.probability, events.of(c.OPPORTUNITY_LOST)[-1]["lost_reason"]) == (0, "price")


def test_unknown_stage_and_custom_pipeline(session, team, events, ctx):
    with pytest.raises(ServiceError):
        deal(session, team["r1"], events, stage="dreaming")
    pipeline = opportunities.create_pipeline(ctx(team["admin"]), {"name": "Fast", "stages": [
        {"name": "demo", "probability": 30}, {"name": "closed_won", "probability": 100},
        {"name": "closed_lost", "probability": 0}]})
    opp = deal(session, team["r1"], events, pipeline_id=pipeline.id)
    assert (opp.stage, opp.probability) == ("demo", 30)
    with pytest.raises(ServiceError):
        opportunities.update(ctx(team["r1"]), opp.id, {"stage": "proposal"})
    with pytest.raises(ServiceError) as denied:
        opportunities.create_pipeline(ctx(team["r1"]), {"name": "Mine", "stages": []})
    assert denied.value.code == "forbidden"
