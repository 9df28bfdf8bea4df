"""The log and the read models stay one transaction while, on PostgreSQL, the projections run as the server takes
the log's COPY (`projections.project_beside`): a projection that fails leaves neither the log's rows nor the models;
a row not read up front is still read; it works where psycopg2 is cooperative (eventlet's wait callback)."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_common.context import SYSTEM, Context
from crm_common.testing.events import Events

from crm_analytics import projections
from crm_analytics.domain import log
from crm_analytics.models import EVENTS, GENERATIONS
from crm_analytics.projections.base import one


def envelope(type_: str, data: dict) -> dict:
    return {"event_id": str(uuid.uuid4()), "type": type_, "producer": type_.split(".")[0],
            "occurred_at": "2026-11-02T09:00:00Z", "actor": {"user_id": "u-1"}, "request_id": "r", "entity": None,
            "action": None, "data": data}


def created(id_: str, amount: str = "100.00") -> dict:
    return envelope("sales.opportunity_created.v1", {"id": id_, "owner_id": "rep-1", "amount": amount,
                                                     "currency": "EUR", "stage": "prospecting", "probability": 10})


def keep_many(engine, envelopes: list) -> list:
    """A batch in a transaction of its own, as the event stream runs it."""
    with Session(engine) as session, session.begin():
        return log.keep_many(Context(session, SYSTEM, Events(), "r"), envelopes)


def stored(engine) -> tuple[int, dict]:
    """The events logged, and the opportunities' stages and amounts by id."""
    deals = GENERATIONS["a"].opportunities
    with Session(engine) as session:
        events = session.execute(select(func.count()).select_from(EVENTS)).scalar()
        rows = session.execute(select(deals.c.id, deals.c.stage, deals.c.amount)).all()
    return events, {r.id: (r.stage, str(r.amount)) for r in rows}


def test_a_projection_that_fails_leaves_neither_the_log_nor_the_models(engine, monkeypatch):
    keep_many(engine, [created("o1")])

    def boom(s, env, data):
        raise RuntimeError("the projection failed")

    monkeypatch.setitem(projections.PROJECTORS, "test.boom.v1", boom)
    batch = [created("o2"), envelope("sales.opportunity_updated.v1", {"id": "o1", "stage": "proposal"}),
             envelope("test.boom.v1", {"id": "x"})]
    with pytest.raises(RuntimeError, match="the projection failed"):  # the projection's error, not the driver's
        keep_many(engine, batch)
    assert stored(engine) == (1, {"o1": ("prospecting", "100.00")})
    monkeypatch.delitem(projections.PROJECTORS, "test.boom.v1")
    assert len(keep_many(engine, batch)) == 3  # redelivered: kept then, and projected once
    assert stored(engine) == (4, {"o1": ("proposal", "100.00"), "o2": ("prospecting", "100.00")})


def test_a_row_the_batch_did_not_read_up_front_is_read(engine, monkeypatch):
    """A projection asking for a row the batch's reads did not name (here a deal named in a field of its own)."""
    keep_many(engine, [created("o1")])
    projected = []

    def priced(s, env, data):
        projected.append(data["deal"])
        deal = one(s, "opportunities", data["deal"])
        deal["stage"] = "negotiation"
        s.put("opportunities", deal)

    monkeypatch.setitem(projections.PROJECTORS, "test.priced.v1", priced)
    kept = keep_many(engine, [created("o2", "7.00"), envelope("test.priced.v1", {"id": "p-1", "deal": "o1"})])
    assert len(kept) == 2
    assert stored(engine) == (3, {"o1": ("negotiation", "100.00"), "o2": ("prospecting", "7.00")})
    if engine.dialect.name == "postgresql":  # first beside the log's COPY (no connection: stopped), then again
        assert projected == ["o1", "o1"]
    else:
        assert projected == ["o1"]


def test_the_batch_works_where_psycopg2_is_cooperative_and_projects_while_the_log_is_sent(engine, monkeypatch):
    """The service runs psycopg2 with eventlet's wait callback, which psycopg2's COPY refuses: it is cleared for the
    log's COPY, and the projections run then (PostgreSQL); put back after."""
    if engine.dialect.name != "postgresql":
        pytest.skip("psycopg2's wait callback")
    from psycopg2 import extensions, extras
    seen = []
    changed = projections.PROJECTORS["sales.opportunity_updated.v1"]

    def watched(s, env, data):
        seen.append(extensions.get_wait_callback())
        changed(s, env, data)

    monkeypatch.setitem(projections.PROJECTORS, "sales.opportunity_updated.v1", watched)
    extensions.set_wait_callback(extras.wait_select)
    try:
        keep_many(engine, [created("o1"), envelope("sales.opportunity_updated.v1", {"id": "o1", "amount": "5.00"})])
        assert extensions.get_wait_callback() is extras.wait_select  # put back
    finally:
        extensions.set_wait_callback(None)
    assert seen == [None]  # during the COPY
    assert stored(engine) == (2, {"o1": ("prospecting", "5.00")})
