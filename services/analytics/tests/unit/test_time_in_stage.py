"""The time in stage: its company-wide figure (pre-counted stays and, on PostgreSQL, the quantiles read from the
index) gives the values of a count by hand; and a batch of events gives the read models that the same events one
a batch give."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

import crm_analytics_contracts as c
from crm_common.context import SYSTEM, Context
from crm_common.testing.events import Events

from crm_analytics.domain import log, sales_figures
from crm_analytics.domain.filters import quantile
from crm_analytics.models import GENERATIONS

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)

# hours of each deal in prospecting: spread over several hours and days, two in one hour, one negative (its stage
# change dated before its creation: counted as 0)
HOURS = [0.5, 1.25, 1.75, 7, 30, 30.5, 49, 50, 73.3, 200, -5]


def _envelope(type_, data, hours, event_id=None):
    return {"event_id": event_id or str(uuid.uuid4()), "type": type_, "producer": "sales",
            "occurred_at": (T0 + timedelta(hours=hours)).isoformat().replace("+00:00", "Z"),
            "actor": {"user_id": "u-1"}, "data": data}


def _deal(i, hours, owner="rep-1"):
    """A deal's created, stage change (after `hours`) and win, as envelopes."""
    created = 10 if hours < 0 else 0
    data = {"id": f"o{i}", "name": f"o{i}", "owner_id": owner, "team_id": "t-1", "amount": "100.00",
            "currency": "EUR", "stage": "prospecting", "probability": 10}
    moved = {"id": f"o{i}", "from_stage": "prospecting", "to_stage": "proposal", "probability": 60,
             "amount": "100.00", "currency": "EUR", "owner_id": owner}
    won = {**data, "stage": "closed_won", "probability": 100,
           "closed_at": (T0 + timedelta(hours=created + hours + 24 * (i + 1))).isoformat().replace("+00:00", "Z")}
    return [_envelope("sales.opportunity_created.v1", data, created),
            _envelope("sales.opportunity_stage_changed.v1", moved, created + hours),
            _envelope("sales.opportunity_stage_changed.v1", {**moved, "from_stage": "proposal", "to_stage": "closed_won",
                                                              "probability": 100}, created + hours + 24 * (i + 1)),
            _envelope("sales.opportunity_won.v1", won, created + hours + 24 * (i + 1))]


def _by_hand(values):
    days = sorted(max(0.0, v) / 24 for v in values)
    return {"deals": len(days), "average_days": round(sum(days) / len(days), 2),
            "median_days": round(quantile(days, 0.5), 2), "p90_days": round(quantile(days, 0.9), 2)}


def test_the_company_wide_time_in_stage_is_the_count_by_hand(session, ctx_as):
    system = Context(session, SYSTEM, Events(), "r")
    for i, hours in enumerate(HOURS):
        log.keep_many(system, _deal(i, hours))
    log.keep_many(system, _deal(99, 12, owner="rep-2"))
    every = sales_figures.sales_cycle(ctx_as("admin", "adm"), c.FigureQuery().load({}))
    stages = {s["stage"]: s for s in every["time_in_stage"]}
    assert {k: v for k, v in stages["prospecting"].items() if k != "stage"} == _by_hand(HOURS + [12])
    assert {k: v for k, v in stages["proposal"].items() if k != "stage"} == _by_hand(
        [24 * (i + 1) for i in range(len(HOURS))] + [24 * 100])
    # the same over a period (the general statement) and a rep's own deals
    dated = sales_figures.sales_cycle(ctx_as("admin", "adm"), c.FigureQuery().load({"from": "2026-01-01"}))
    assert dated["time_in_stage"] == every["time_in_stage"]
    mine = sales_figures.sales_cycle(ctx_as("sales_rep", "rep-2"), c.FigureQuery().load({}))
    assert {s["stage"]: s["median_days"] for s in mine["time_in_stage"]} == {"prospecting": 0.5, "proposal": 100.0}


def _models(session):
    t = GENERATIONS["a"]
    out = {}
    for name in ("opportunities", "opportunity_sums", "stage_times"):
        table = getattr(t, name)
        out[name] = sorted(tuple(sorted(row.items())) for row in session.execute(select(table)).mappings())
    h = t.stage_history
    out["stage_history"] = sorted((r.opportunity_id, r.stage, r.entered_at, r.left_at)
                                  for r in session.execute(select(h)))
    return out


def _clear(session):
    t = GENERATIONS["a"]
    for name in ("opportunities", "opportunity_sums", "stage_times", "stage_history"):
        session.execute(getattr(t, name).delete())


def test_one_batch_gives_what_the_same_events_one_a_batch_give(session):
    system = Context(session, SYSTEM, Events(), "r")
    deals = [_deal(i, hours) for i, hours in enumerate(HOURS[:4])]
    log.keep_many(system, [env for deal in deals for env in deal])  # created, moved, won: in one batch
    together = _models(session)
    _clear(session)
    for deal in deals:
        for env in deal:
            log.keep_many(system, [{**env, "event_id": str(uuid.uuid4())}])  # one a batch
    assert _models(session) == together


def test_a_rebuild_counts_the_stays_again(engine, session, ctx_as):
    from crm_common import jobs

    from crm_analytics.domain import rebuild
    from crm_analytics.models import Base
    system = Context(session, SYSTEM, Events(), "r")
    for i, hours in enumerate(HOURS[:5]):
        log.keep_many(system, _deal(i, hours))
    before = sales_figures.sales_cycle(ctx_as("admin", "adm"), c.FigureQuery().load({}))
    job = rebuild.start(ctx_as("admin", "adm"))
    session.commit()
    assert jobs.run(engine, Base.metadata, job["id"], rebuild.run)["status"] == "done"
    session.begin()
    after = sales_figures.sales_cycle(ctx_as("admin", "adm"), c.FigureQuery().load({}))
    assert log.status(ctx_as("admin", "adm"))["generation"] == "b"
    assert after["time_in_stage"] == before["time_in_stage"] and after["items"] == before["items"]
    assert after["time_in_stage"][0]["deals"] == 5


def test_every_quantile_read_from_the_index_is_the_one_a_sort_gives(engine, session, monkeypatch):
    """PostgreSQL (the index's path): stays in clusters (nine in one hour, four alike, negative ones), every
    quantile from 0.05 to 0.95 against the sorted values: the hour's first, last and inner places, from either end."""
    import pytest

    from crm_analytics.domain import time_in_stage
    if engine.dialect.name != "postgresql":
        pytest.skip("the company-wide path is PostgreSQL's")
    hours = [40 + k * 0.05 for k in range(9)] + [3.0] * 4 + [100.5, 100.7, 100.9, -2, -0.5, 0.25, 500]
    system = Context(session, SYSTEM, Events(), "r")
    for i, stay in enumerate(hours):
        log.keep_many(system, _deal(i, stay))
    quantiles = tuple(k / 20 for k in range(1, 20))
    monkeypatch.setattr(time_in_stage, "QUANTILES", quantiles)
    n, mean, *found = time_in_stage.company_wide(session, GENERATIONS["a"], 3600.0)["prospecting"]
    days = sorted(max(0.0, v) for v in hours)
    assert n == len(hours) and abs(mean - sum(days) / n) < 1e-9
    assert [round(v, 9) for v in found] == [round(quantile(days, q), 9) for q in quantiles]
