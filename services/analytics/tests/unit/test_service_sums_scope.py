"""A team-scoped caller's service figures: read over their own tickets alone (the owner index) when the pre-counted
tickets count none of their team, which is the same set of tickets; over their team's too as soon as one is."""
from __future__ import annotations

from sqlalchemy import select

from crm_common.context import SYSTEM, Context
from crm_common.testing.events import Events

from crm_analytics.domain import log, service_figures, service_sums
from crm_analytics.projections import ticket_sums

from .test_ticket_sums import events, q


def _same(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k != "as_of"} == {k: v for k, v in b.items() if k != "as_of"}


def _recount(session) -> None:
    t = log.active(session)
    session.execute(t.ticket_sums.delete())
    session.execute(t.ticket_times.delete())
    ticket_sums.fill(session.connection(), t)


def test_a_team_scoped_agent_whose_team_has_no_ticket_reads_their_own_and_the_same_figures(session, ctx_as,
                                                                                           monkeypatch):
    log.keep_many(Context(session, SYSTEM, Events(), "r"), events())
    agent = ctx_as("support_agent", "ag-1", "tm-1")
    t = log.active(session)
    reader = service_sums.ticket_reader(session.connection(), t, agent.caller)
    assert reader.team_id is None and reader.user_id == "ag-1"  # no ticket of tm-1: their own only
    got = service_figures.service(agent, q())
    got_by_month = service_figures.service(agent, q(group_by="month"))
    k = t.tickets
    own = len(session.execute(select(k.c.id).where(k.c.owner_id == "ag-1")).all())
    assert got["totals"]["opened"] == own > 0
    monkeypatch.setattr(service_sums, "ticket_reader", lambda conn, t_, caller: caller)  # the team's clause kept
    assert _same(got, service_figures.service(agent, q()))
    assert _same(got_by_month, service_figures.service(agent, q(group_by="month")))


def test_once_a_ticket_carries_the_team_the_agent_reads_it_too(session, ctx_as):
    log.keep_many(Context(session, SYSTEM, Events(), "r"), events())
    t = log.active(session)
    k = t.tickets
    session.execute(k.update().where(k.c.id == "t5").values(team_id="tm-1"))  # ag-2's ticket
    _recount(session)
    agent = ctx_as("support_agent", "ag-1", "tm-1")
    assert service_sums.ticket_reader(session.connection(), t, agent.caller).team_id == "tm-1"
    own = len(session.execute(select(k.c.id).where(k.c.owner_id == "ag-1")).all())
    assert service_figures.service(agent, q())["totals"]["opened"] == own + 1
    other = ctx_as("support_agent", "ag-1", "tm-2")  # another team's agent: still their own only
    assert service_figures.service(other, q())["totals"]["opened"] == own
    rep = ctx_as("sales_rep", "ag-1", "tm-1")  # an own-scoped caller keeps their own scope
    assert service_sums.ticket_reader(session.connection(), t, rep.caller) is rep.caller
