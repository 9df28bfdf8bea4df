"""The event log keeps every event once (a new producer's too); a rebuild replays it into the other generation
while the active one answers, then switches."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

import crm_analytics_contracts as c
from crm_common import jobs
from crm_common.context import SYSTEM, Context
from crm_common.testing.events import Events

from crm_analytics.domain import log, rebuild, sales_figures
from crm_analytics.models import EVENTS, GENERATIONS, STATE, Base


def opp(feed, id_, amount="100.00", days=0):
    feed("sales.opportunity_created.v1", {"id": id_, "owner_id": "rep-1", "team_id": None, "amount": amount,
                                          "currency": "EUR", "stage": "prospecting", "probability": 10}, days)


def test_every_event_is_kept_whole_even_of_a_producer_no_projection_reads(feed, session, ctx_as):
    opp(feed, "o1")
    env = feed("billing.invoice_paid.v1", {"id": "inv-1", "account_id": "acc-1", "amount": "10.00"})
    rows = session.execute(select(EVENTS.c.type, EVENTS.c.account_id, EVENTS.c.envelope).order_by(EVENTS.c.seq)).all()
    assert [r.type for r in rows] == ["sales.opportunity_created.v1", "billing.invoice_paid.v1"]
    assert rows[1].account_id == "acc-1" and rows[1].envelope == env
    status = log.status(ctx_as("admin", "adm"))
    assert status["events"] == 2 and status["generation"] == "a"
    assert status["unprojected_types"] == ["billing.invoice_paid.v1"]


def test_a_redelivered_event_is_kept_and_counted_once_the_new_ones_beside_it_are_kept(feed, session, ctx_as):
    first = feed("sales.opportunity_created.v1", {"id": "o1", "owner_id": "rep-1", "amount": "100.00",
                                                  "currency": "EUR", "stage": "prospecting", "probability": 10})
    second = {**first, "event_id": "e-2", "data": {**first["data"], "id": "o2"}}
    system = ctx_as("admin", "adm")
    assert log.keep_many(system, [first, second, second]) == [second]  # the log claims: a repeat is not new
    assert log.keep_many(system, [first]) == []
    assert session.execute(select(func.count()).select_from(EVENTS)).scalar() == 2
    assert sales_figures.pipeline(system, c.FigureQuery().load({}))["totals"]["count"] == 2


def test_a_rebuild_replays_into_the_other_generation_and_switches(engine, session, feed, ctx_as):
    for i in range(5):
        opp(feed, f"o{i}", days=i)
    session.commit()
    session.begin()
    before = sales_figures.pipeline(ctx_as("admin", "adm"), c.FigureQuery().load({}))
    job = rebuild.start(ctx_as("admin", "adm"))
    assert job["status"] == "queued" and job["total"] == 5
    session.commit()
    done = jobs.run(engine, Base.metadata, job["id"], rebuild.run)
    assert done["status"] == "done" and done["processed"] == 5, done
    assert done["result"] == {"generation": "b", "replayed": 5, "days_counted": 0, "caught_up": 0}
    session.begin()
    assert log.status(ctx_as("admin", "adm"))["generation"] == "b"
    after = sales_figures.pipeline(ctx_as("admin", "adm"), c.FigureQuery().load({}))
    assert after["items"] == before["items"] and after["totals"]["count"] == 5
    opp(feed, "o-late")  # a live event after the switch goes to the new generation
    assert sales_figures.pipeline(ctx_as("admin", "adm"), c.FigureQuery().load({}))["totals"]["count"] == 6
    assert session.execute(select(func.count()).select_from(EVENTS)).scalar() == 6


def test_events_logged_during_the_replay_are_caught_up_before_the_switch(engine, session, feed, monkeypatch):
    for i in range(3):
        opp(feed, f"o{i}")
    session.commit()
    with engine.begin() as conn:
        job = jobs.create(conn, Base.metadata, rebuild.KIND, payload={}, total=3, actor=SYSTEM)
    original = jobs.JobContext.progress
    calls = []

    def progress_then_an_event_arrives(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if not calls:  # the replay has begun: a live event is projected into the old generation, logged after S0
            calls.append(1)
            session.begin()
            opp(feed, "o-during")
            session.commit()
    monkeypatch.setattr(jobs.JobContext, "progress", progress_then_an_event_arrives)
    done = jobs.run(engine, Base.metadata, job["id"], rebuild.run)
    assert done["result"] == {"generation": "b", "replayed": 3, "days_counted": 0, "caught_up": 1}


def test_personal_data_is_not_kept_an_address_only_as_its_hash(feed, session):
    feed("sales.lead_created.v1", {"id": "l1", "email": "Ada@Example.com", "first_name": "Ada", "last_name": "L",
                                   "company": "Engines", "source": "web_form"})
    feed("sales.leads_imported.v1", {"job_id": "j", "ids": ["l2"], "leads": [{"id": "l2", "email": "b@example.com"}]})
    kept = [r.envelope for r in session.execute(select(EVENTS.c.envelope).order_by(EVENTS.c.seq))]
    assert kept[0]["data"] == {"id": "l1", "company": "Engines", "source": "web_form",
                               "email_hash": log.redacted({"email": "ada@example.com"})["email_hash"]}
    assert "email" not in kept[1]["data"]["leads"][0] and kept[0]["actor"] == {"user_id": "u-1"}


def test_a_value_of_another_type_than_the_model_keeps_is_projected_as_its_text(feed, session, ctx_as):
    """A producer sending a number where the read model keeps text (a ticket number 42, next to "T-1", in one
    batch) is not refused: both tickets are kept and counted."""
    from crm_common.context import Context
    from crm_common.testing.events import Events
    batch = [{"event_id": f"e-{id_}", "type": "service_desk.ticket_opened.v1", "producer": "service_desk",
              "occurred_at": "2026-11-02T09:00:00Z", "actor": {"user_id": "u-1"},
              "data": {"id": id_, "number": number, "status": "new", "channel": "email", "assignee_id": "agent-1"}}
             for id_, number in (("t1", "T-1"), ("t2", 42))]
    log.keep_many(Context(session, SYSTEM, Events(), "r"), batch)
    t = log.active(session)
    assert dict(session.execute(select(t.tickets.c.id, t.tickets.c.number)).all()) == {"t1": "T-1", "t2": "42"}
    from crm_analytics.domain import service_figures
    assert service_figures.service(ctx_as("admin", "adm"), c.FigureQuery().load({}))["totals"]["opened"] == 2
    odd = 'T"2", {b} \\ x'  # kept as it came, through the upsert of rows there already
    log.keep_many(Context(session, SYSTEM, Events(), "r"), [
        {**batch[0], "event_id": "e-u1", "type": "service_desk.ticket_updated.v1",
         "data": {"id": "t1", "number": 43, "custom_fields": {"note": 'say "hi"', "n": None}}},
        {**batch[1], "event_id": "e-u2", "type": "service_desk.ticket_updated.v1", "data": {"id": "t2", "number": odd}}])
    rows = {r.id: (r.number, r.custom_fields) for r in session.execute(select(t.tickets))}
    assert rows == {"t1": ("43", {"note": 'say "hi"', "n": None}), "t2": (odd, None)}


def test_a_live_batch_waits_for_a_switch_under_way_and_projects_into_the_generation_it_made(engine, session, feed):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    opp(feed, "o0")
    session.commit()
    late = {"event_id": "e-late", "type": "sales.opportunity_created.v1", "producer": "sales",
            "occurred_at": "2026-03-01T00:00:00Z", "actor": {"user_id": "u-1"}, "request_id": "r", "entity": None,
            "action": None, "data": {"id": "o-late", "owner_id": "rep-1", "amount": "1.00", "currency": "EUR",
                                     "stage": "prospecting", "probability": 10}}

    def live():
        with Session(engine) as other, other.begin():
            log.keep(Context(other, SYSTEM, Events(), "r"), late)

    with engine.connect() as switch:  # as the rebuild's switch (rebuild.run): the lock, then the other generation
        log.state(switch, lock="update")
        switch.execute(update(STATE).where(STATE.c.id == 1).values(active="b"))
        thread = threading.Thread(target=live)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive()  # the live batch waits for the switch's commit
        switch.commit()
    thread.join(10)
    assert not thread.is_alive()
    session.begin()
    in_ = {g: session.execute(select(GENERATIONS[g].opportunities.c.id)).scalars().all() for g in ("a", "b")}
    assert in_ == {"a": ["o0"], "b": ["o-late"]}
