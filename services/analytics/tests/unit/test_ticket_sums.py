"""The pre-counted tickets (projections/ticket_sums.py) stay equal to a count of the tickets themselves through
creations, responses, solves, reopens, breaches, reassignments and deletions, one event a batch or many, and a
rebuild; the company-wide service figures read from them (domain/service_sums.py) give the counts a hand count
gives and the quantiles within the stated bound, and say so."""
from __future__ import annotations

import math
import random
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

import crm_analytics_contracts as c
from crm_common import jobs
from crm_common.context import SYSTEM, Context
from crm_common.testing.events import Events

from crm_analytics.domain import log, rebuild, service_figures, service_sums
from crm_analytics.models import Base
from crm_analytics.projections import ticket_sums

from .conftest import T0


def q(**args):
    return c.FigureQuery().load(args)


def env(type_, data, days):
    return {"event_id": str(uuid.uuid4()), "type": type_, "producer": type_.split(".")[0],
            "occurred_at": (T0 + timedelta(days=days)).isoformat().replace("+00:00", "Z"), "actor": {"user_id": "u"},
            "data": data}


def at(days: float) -> str:
    return (T0 + timedelta(days=days)).isoformat().replace("+00:00", "Z")


def stored(session) -> tuple[dict, dict]:
    t = log.active(session)
    s, m = t.ticket_sums, t.ticket_times
    sums = {(r.dimension, r.value): tuple(r[2:]) for r in session.execute(select(s)).all()
            if any(r[2:])}
    times = {(r.dimension, r.value, r.measure, r.bucket): r.tickets
             for r in session.execute(select(m)).all() if r.tickets}
    return sums, times


def counted(session) -> tuple[dict, dict]:
    """What the pre-counted tables must hold: every ticket row counted afresh."""
    rows = [dict(r) for r in session.execute(select(log.active(session).tickets)).mappings()]
    sums, times = ticket_sums.deltas((None, row) for row in rows)
    return ({(r["dimension"], r["value"]): tuple(r[n] for n in ticket_sums.COUNTS) for r in sums},
            {(r["dimension"], r["value"], r["measure"], r["bucket"]): r["tickets"] for r in times})


def everything(sums: dict) -> tuple:
    """The whole company's counts: the month x channel x policy rows summed (no row of its own)."""
    rows = [counts for (dimension, _), counts in sums.items() if dimension == ticket_sums.CROSSED]
    return tuple(map(sum, zip(*rows)))


def events(n: int = 40) -> list[dict]:
    """Tickets opened by three agents on two channels, then answered, solved, reopened, breached, reassigned and
    deleted in turn."""
    rng = random.Random(7)
    out = []
    for i in range(n):
        d = i / 10
        out.append(env("service_desk.ticket_opened.v1", {
            "id": f"t{i}", "number": f"T{i}", "status": "new", "priority": "high" if i % 4 == 0 else "normal",
            "channel": "email" if i % 3 else "phone", "type": "question", "account_id": f"acc-{i % 5}",
            "assignee_id": f"ag-{i % 3}", "sla_policy_id": "p1" if i % 5 else None}, d))
        if i % 7 != 0:
            out.append(env("service_desk.ticket_first_response.v1", {
                "id": f"t{i}", "status": "open", "first_responded_at": at(d + rng.uniform(0.001, 2))}, d + 0.01))
        if i % 2 == 0:
            out.append(env("service_desk.ticket_solved.v1", {
                "id": f"t{i}", "status": "solved", "solved_at": at(d + rng.uniform(0.01, 9))}, d + 0.02))
        if i % 6 == 0:
            out.append(env("service_desk.ticket_reopened.v1", {"id": f"t{i}", "status": "open"}, d + 0.03))
        if i % 8 == 1:
            out.append(env("service_desk.sla_breached.v1", {"id": f"t{i}", "kind": "resolution", "policy_id": "p2"},
                           d + 0.04))
        if i % 9 == 2:
            out.append(env("service_desk.ticket_assigned.v1", {"id": f"t{i}", "assignee_id": "ag-9"}, d + 0.05))
        if i % 11 == 3:
            out.append(env("service_desk.ticket_deleted.v1", {"id": f"t{i}"}, d + 0.06))
    return out


def test_the_counts_follow_every_change_of_a_ticket_one_event_a_batch(session):
    system = Context(session, SYSTEM, Events(), "r")
    for envelope in events():
        log.keep_many(system, [envelope])
    assert stored(session) == counted(session)
    sums, _ = stored(session)
    opened = everything(sums)[0]
    assert opened == 40 - 4  # t3, t14, t25, t36 deleted
    assert sums[("owner", "=ag-9")][0] == 5  # t2, t11, t20, t29, t38 reassigned, none of them deleted


def test_one_batch_gives_what_one_event_a_batch_gives_and_a_rebuild_too(engine, session):
    log.keep_many(Context(session, SYSTEM, Events(), "r"), events())
    before = stored(session)
    assert before == counted(session)
    session.commit()
    job = rebuild.start(Context(session, SYSTEM, Events(), "r"))
    session.commit()
    assert jobs.run(engine, Base.metadata, job["id"], rebuild.run)["status"] == "done"
    session.begin()
    assert stored(session) == before == counted(session)


@pytest.mark.parametrize("group_by", [None, "owner", "team", "channel", "priority", "policy", "month"])
def test_the_pre_counted_figures_are_the_exact_ones_but_the_quantiles_within_their_bound(
        session, ctx_as, monkeypatch, group_by):
    log.keep_many(Context(session, SYSTEM, Events(), "r"), events())
    admin = ctx_as("admin", "adm")
    exact = service_figures.service(admin, q(group_by=group_by) if group_by else q())
    assert exact["quantiles"] == {"exact": True, "relative_error": 0.0}  # 36 tickets: read one by one
    monkeypatch.setattr(service_sums, "EXACT_UP_TO", 0)
    fast = service_figures.service(admin, q(group_by=group_by) if group_by else q())
    assert fast["quantiles"] == {"exact": False, "relative_error": ticket_sums.ALPHA}
    assert [i["key"] for i in fast["items"]] == [i["key"] for i in exact["items"]]
    for got, want in [(i, j) for i, j in zip(fast["items"], exact["items"])] + [(fast["totals"], exact["totals"])]:
        assert_times_within_bound(got, want)
        strip = {k: v for k, v in got.items() if k not in ("first_response", "resolution")}
        assert strip == {k: v for k, v in want.items() if k not in ("first_response", "resolution")}


def test_the_counts_are_the_ones_by_hand(session, ctx_as, monkeypatch):
    """Four tickets, their figures worked out by hand, answered from the pre-counted tables."""
    monkeypatch.setattr(service_sums, "EXACT_UP_TO", 0)
    system = Context(session, SYSTEM, Events(), "r")
    base = {"status": "new", "priority": "normal", "type": "question", "sla_policy_id": "p1"}
    log.keep_many(system, [
        env("service_desk.ticket_opened.v1", {**base, "id": "a", "channel": "email", "assignee_id": "x",
                                              "account_id": "acc-1"}, 0),
        env("service_desk.ticket_opened.v1", {**base, "id": "b", "channel": "chat", "assignee_id": "x",
                                              "account_id": "acc-1"}, 0),
        env("service_desk.ticket_opened.v1", {**base, "id": "c", "channel": "email", "assignee_id": "y",
                                              "account_id": "acc-2", "sla_policy_id": None}, 0)])
    log.keep_many(system, [
        env("service_desk.ticket_solved.v1", {"id": "a", "status": "solved", "solved_at": at(1)}, 1),
        env("service_desk.ticket_reopened.v1", {"id": "a", "status": "open"}, 2),
        env("service_desk.ticket_assigned.v1", {"id": "b", "assignee_id": "y"}, 2),
        env("service_desk.sla_breached.v1", {"id": "b", "kind": "first_response", "policy_id": "p1"}, 2),
        env("service_desk.ticket_solved.v1", {"id": "c", "status": "solved", "solved_at": at(0.5)}, 1)])
    log.keep_many(system, [env("service_desk.ticket_opened.v1", {**base, "id": "d", "channel": "chat",
                                                                 "assignee_id": "x"}, 3),
                           env("service_desk.ticket_deleted.v1", {"id": "d"}, 3.5)])
    answer = service_figures.service(ctx_as("admin", "adm"), q(group_by="owner"))
    assert answer["quantiles"]["exact"] is False
    by_owner = {i["key"]: (i["opened"], i["backlog"], i["reopened"], i["sla_compliance"]) for i in answer["items"]}
    assert by_owner == {"x": (1, 1, 1, 1.0), "y": (2, 1, 0, 0.0)}
    totals = answer["totals"]
    assert (totals["opened"], totals["backlog"], totals["reopened"], totals["reopen_rate"]) == (3, 2, 1, 0.5)
    assert totals["per_channel"] == {"chat": 1, "email": 2}
    assert totals["sla_by_policy"] == [{"policy_id": "p1", "tickets": 2, "breached": 1, "compliance": 0.5}]
    assert totals["per_account"] == {"acc-1": 2, "acc-2": 1}
    assert totals["resolution"]["count"] == 2
    assert abs(totals["resolution"]["median_hours"] - 18.0) <= 18.0 * ticket_sums.ALPHA  # 12 h and 24 h


def test_scoped_filtered_dated_or_by_account_queries_read_the_tickets(session, ctx_as, monkeypatch):
    """A support agent's figures over all time are pre-counted too (test_service_groups.py); grouped, they are not."""
    log.keep_many(Context(session, SYSTEM, Events(), "r"), events())
    monkeypatch.setattr(service_sums, "EXACT_UP_TO", 0)
    agent = service_figures.service(ctx_as("support_agent", "ag-1"), q(group_by="owner"))
    assert agent["quantiles"]["exact"] is True
    k = log.active(session).tickets
    assert agent["totals"]["opened"] == len(session.execute(select(k.c.id).where(k.c.owner_id == "ag-1")).all())
    admin = ctx_as("admin", "adm")
    for args in ({"channel": "email", "group_by": "owner"}, {"owner_id": "ag-1"}, {"from": "2026-11-02", "to": "2026-11-03"},
                 {"group_by": "account"}):
        assert service_figures.service(admin, q(**args))["quantiles"]["exact"] is True


def test_a_bucket_s_middle_is_within_the_bound_of_every_time_in_it():
    rng = random.Random(3)
    values = [rng.lognormvariate(8, 3) for _ in range(20000)] + [1e-6, 0.5, 1.0, 59.9, 3600.0, 86400.0 * 30]
    for v in values:
        assert abs(ticket_sums.middle(ticket_sums.bucket(v)) - v) <= ticket_sums.ALPHA * v * (1 + 1e-9)
    assert ticket_sums.middle(ticket_sums.bucket(0.0)) == 0.0 == ticket_sums.middle(ticket_sums.bucket(-5.0))
    assert math.isclose(ticket_sums.GAMMA, (1 + ticket_sums.ALPHA) / (1 - ticket_sums.ALPHA))


def test_a_ticket_opened_again_under_another_event_id_is_counted_once(session):
    """A creation event whose ticket is there already (the batch projected again, reading every row)."""
    system = Context(session, SYSTEM, Events(), "r")
    opened = {"id": "t1", "status": "new", "channel": "email", "assignee_id": "ag-1", "sla_policy_id": "p1"}
    log.keep_many(system, [env("service_desk.ticket_opened.v1", opened, 0)])
    log.keep_many(system, [env("service_desk.ticket_opened.v1", {**opened, "assignee_id": "ag-2"}, 0),
                           env("service_desk.ticket_opened.v1", {**opened, "id": "t2"}, 0)])
    assert stored(session) == counted(session)
    sums, _ = stored(session)
    assert (everything(sums)[0], sums[("owner", "=ag-2")][0], sums.get(("owner", "=ag-1"), (0,))[0]) == (2, 1, 1)


def test_the_migration_s_fill_counts_what_the_projection_counted(session):
    """`ticket_sums.fill` (the migration's, over the tickets already there) gives the tables the batches built."""
    log.keep_many(Context(session, SYSTEM, Events(), "r"), events())
    built = stored(session)
    t = log.active(session)
    session.execute(t.ticket_sums.delete())
    session.execute(t.ticket_times.delete())
    ticket_sums.fill(session.connection(), t, chunk=7)
    assert stored(session) == built == counted(session)


def assert_times_within_bound(got: dict, want: dict) -> None:
    """A pre-counted answer's group (or totals) against the exact one's: the same counts of times, each median and
    p90 within ticket_sums.ALPHA of the exact value (and the answer's rounding to 3 decimals)."""
    for measure in ("first_response", "resolution"):
        assert got[measure]["count"] == want[measure]["count"]
        for name in ("median_hours", "p90_hours"):
            value, true_value = got[measure][name], want[measure][name]
            assert (value is None) == (true_value is None)
            if value is not None:
                assert abs(value - true_value) <= ticket_sums.ALPHA * true_value + 0.001
