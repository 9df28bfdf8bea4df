"""The pre-aggregated opportunities the pipeline, forecast and win rate sum (projections/sums.py) stay equal to the
deals themselves through changes, closes, deletions, a batch of many events and a rebuild."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import func, select

from crm_common import jobs
from crm_common.context import SYSTEM, Context
from crm_common.testing.events import Events

from crm_analytics.domain import log, rebuild
from crm_analytics.models import Base

from .conftest import T0

KEYS = ("status", "stage", "currency", "owner_id", "team_id", "territory_id", "source", "campaign_id",
        "expected_close_date")


def summed_from_deals(session) -> dict:
    """What the sums must hold, counted from the opportunities read model directly."""
    o = log.active(session).opportunities
    rows = session.execute(select(*[o.c[k] for k in KEYS], func.count(), func.coalesce(func.sum(o.c.amount), 0))
                           .group_by(*[o.c[k] for k in KEYS])).all()
    return {tuple(r[:len(KEYS)]): (r[-2], float(r[-1])) for r in rows}


def summed(session) -> dict:
    s = log.active(session).opportunity_sums
    rows = session.execute(select(*[s.c[k] for k in KEYS], func.sum(s.c.deals), func.coalesce(func.sum(s.c.amount), 0))
                           .group_by(*[s.c[k] for k in KEYS]).having(func.sum(s.c.deals) > 0)).all()
    return {tuple(r[:len(KEYS)]): (r[-2], float(r[-1])) for r in rows}


def env(type_, data, days):
    return {"event_id": str(uuid.uuid4()), "type": type_, "producer": type_.split(".")[0],
            "occurred_at": (T0 + timedelta(days=days)).isoformat().replace("+00:00", "Z"), "actor": {"user_id": "u"},
            "data": data}


def deal(id_, owner, amount, stage="prospecting", prob=10, **extra):
    return {"id": id_, "name": id_, "owner_id": owner, "team_id": "t-1", "amount": amount, "currency": "EUR",
            "stage": stage, "probability": prob, "expected_close_date": "2026-11-30", **extra}


def test_the_sums_follow_each_change_of_a_deal(session, feed):
    feed("sales.opportunity_created.v1", deal("o1", "rep-1", "100.00"))
    feed("sales.opportunity_created.v1", deal("o2", "rep-1", "250.00", prob=80))
    feed("sales.opportunity_created.v1", deal("o3", "rep-2", "40.00"))
    feed("sales.opportunity_updated.v1", {**deal("o1", "rep-2", "120.00"), "changed_fields": ["owner_id", "amount"]}, 1)
    feed("sales.opportunity_stage_changed.v1", {"id": "o2", "from_stage": "prospecting", "to_stage": "closed_won",
                                                "probability": 100, "amount": "250.00", "currency": "EUR"}, 2)
    feed("sales.opportunity_won.v1", deal("o2", "rep-1", "250.00", stage="closed_won", prob=100,
                                          closed_at="2026-11-04T10:00:00Z"), 2)
    feed("sales.record_changed.v1", {"entity": "opportunity", "id": "o3", "action": "delete", "changed_fields": []}, 3)
    assert summed(session) == summed_from_deals(session)
    s = log.active(session).opportunity_sums
    won = session.execute(select(s.c.closed_on, s.c.deals, s.c.amount, s.c.commit).where(s.c.status == "won")).all()
    assert [(str(day), n, float(a), float(c)) for day, n, a, c in won] == [("2026-11-04", 1, 250.0, 250.0)]
    open_by_owner = {k[3]: (n, amount) for k, (n, amount) in summed(session).items() if k[0] == "open"}
    assert open_by_owner == {"rep-2": (1, 120.0)}  # o1 moved to rep-2 at 120, o2 won, o3 deleted
    assert session.execute(select(func.count()).select_from(s).where(s.c.deals <= 0)).scalar() == 0


def test_a_batch_of_many_events_and_a_rebuild_keep_them_equal(engine, session):
    envelopes = []
    for i in range(60):
        envelopes.append(env("sales.opportunity_created.v1", deal(f"o{i}", f"rep-{i % 4}", f"{10 * i}.00"), i / 10))
        if i % 3 == 0:
            envelopes.append(env("sales.opportunity_stage_changed.v1", {
                "id": f"o{i}", "from_stage": "prospecting", "to_stage": "proposal", "probability": 60,
                "amount": f"{10 * i}.00", "currency": "EUR"}, i / 10 + 1))
        if i % 5 == 0:
            envelopes.append(env("sales.opportunity_lost.v1", deal(f"o{i}", f"rep-{i % 4}", f"{10 * i}.00",
                                                                   stage="closed_lost", prob=0,
                                                                   closed_at="2026-11-20T10:00:00Z"), i / 10 + 2))
    log.keep_many(Context(session, SYSTEM, Events(), "r"), envelopes)  # one batch, as the stream applies them
    before = summed(session)
    assert before == summed_from_deals(session) and sum(n for n, _ in before.values()) == 60
    session.commit()
    job = rebuild.start(Context(session, SYSTEM, Events(), "r"))
    session.commit()
    assert jobs.run(engine, Base.metadata, job["id"], rebuild.run)["status"] == "done"
    session.begin()
    assert summed(session) == before == summed_from_deals(session)


def test_a_deal_whose_creation_comes_after_its_update_is_counted_once(session):
    system = Context(session, SYSTEM, Events(), "r")
    log.keep_many(system, [env("sales.opportunity_updated.v1", deal("o1", "rep-2", "120.00"), 1)])
    log.keep_many(system, [env("sales.opportunity_created.v1", deal("o1", "rep-1", "100.00"), 0),
                           env("sales.opportunity_created.v1", deal("o2", "rep-1", "50.00"), 0)])
    assert summed(session) == summed_from_deals(session) == {
        ("open", "prospecting", "EUR", "rep-2", "t-1", None, None, None, date(2026, 11, 30)): (1, 120.0),
        ("open", "prospecting", "EUR", "rep-1", "t-1", None, None, None, date(2026, 11, 30)): (1, 50.0)}
    log.keep_many(system, [env("sales.opportunity_created.v1", deal("o1", "rep-1", "100.00"), 0),  # again, then
                           env("sales.record_changed.v1", {"entity": "opportunity", "id": "o1", "action": "delete"}, 3)])
    assert summed(session) == summed_from_deals(session) == {  # deleted: out of the sums
        ("open", "prospecting", "EUR", "rep-1", "t-1", None, None, None, date(2026, 11, 30)): (1, 50.0)}
