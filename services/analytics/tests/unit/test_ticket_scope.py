"""A caller's ticket figures cover the tickets the service desk shows them: a support agent (team scope) those
assigned to them, opened by them, or of a support group they belong to; a sales rep (own) those assigned to or opened
by them; a support manager all. Groups' members come from the desk's config events, so a change of members moves the
figures, and a rebuild gives the same."""
from __future__ import annotations

import uuid
from datetime import timedelta

from crm_common import jobs
from crm_common.context import SYSTEM, Context
from crm_common.testing.events import Events

import crm_analytics_contracts as c
from crm_analytics.domain import log, rebuild, service_figures, service_sums
from crm_analytics.models import Base

from .conftest import T0

ACCOUNT = "acc-1"
# ticket -> (assignee, group, opened by)
TICKETS = {"t1": ("ag-1", "g2", "u-x"), "t2": ("ag-3", "g1", "u-x"), "t3": (None, "g2", "ag-1"),
           "t4": ("ag-3", "g2", "u-x"), "t5": (None, None, "rep-1"), "t6": ("rep-1", "g1", "u-x")}
# who reads which tickets, written out (not worked out from the grants): g1 = ag-1, ag-2; g2 = ag-3
FIRST = {("support_agent", "ag-1"): {"t1", "t2", "t3", "t6"}, ("support_agent", "ag-2"): {"t2", "t6"},
         ("support_agent", "ag-3"): {"t1", "t2", "t3", "t4"}, ("sales_rep", "rep-1"): {"t5", "t6"},
         ("support_agent", "ag-9"): set(), ("support_manager", "mgr"): set(TICKETS)}
# after g1 becomes ag-2 alone and g2 is deleted
AFTER = {("support_agent", "ag-1"): {"t1", "t3"}, ("support_agent", "ag-2"): {"t2", "t6"},
         ("support_agent", "ag-3"): {"t2", "t4"}, ("sales_rep", "rep-1"): {"t5", "t6"},
         ("support_agent", "ag-9"): set(), ("support_manager", "mgr"): set(TICKETS)}


def env(type_: str, data: dict, minutes: int, by: str = "admin") -> dict:
    return {"event_id": str(uuid.uuid4()), "type": type_, "producer": "service_desk",
            "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
            "actor": {"user_id": by}, "data": data}


def group(type_: str, group_id: str, members: list, minutes: int) -> dict:
    return env(f"service_desk.config_{type_}.v1", {"entity": "group", "id": group_id, "name": group_id,
                                                   "member_ids": members}, minutes)


def opening() -> list[dict]:
    out = [group("created", "g1", ["ag-1", "ag-2"], 0), group("created", "g2", ["ag-9"], 1),
           group("updated", "g2", ["ag-3"], 2),
           env("service_desk.config_created.v1", {"entity": "sla_policy", "id": "p1", "name": "p"}, 3)]
    for i, (ticket, (assignee, group_id, opener)) in enumerate(TICKETS.items()):
        out.append(env("service_desk.ticket_opened.v1", {
            "id": ticket, "number": ticket.upper(), "status": "new", "channel": "email", "account_id": ACCOUNT,
            "assignee_id": assignee, "group_id": group_id}, 10 + i, by=opener))
    return out


def changes() -> list[dict]:
    return [group("updated", "g1", ["ag-2"], 30), group("deleted", "g2", [], 31)]


def _seen(session, ctx_as) -> dict:
    """Per caller, the tickets they count: {assignee: tickets opened} of the figures grouped by owner."""
    out = {}
    for role, user in FIRST:
        got = service_figures.service(ctx_as(role, user, "tm-1"), c.FigureQuery().load({"group_by": "owner"}))
        out[(role, user)] = {item["key"]: item["opened"] for item in got["items"] if item["opened"]}
    return out


def _by_owner(expected: dict) -> dict:
    out = {}
    for caller, tickets in expected.items():
        counts: dict = {}
        for ticket in tickets:
            counts[TICKETS[ticket][0]] = counts.get(TICKETS[ticket][0], 0) + 1
        out[caller] = counts
    return out


def _totals(session, ctx_as) -> dict:
    """Per caller, the tickets they count over all time (a support agent's from the pre-counted tickets when there
    are many: domain/service_groups.py)."""
    return {(role, user): service_figures.service(ctx_as(role, user, "tm-1"), c.FigureQuery().load({}))["totals"]
            ["opened"] for role, user in FIRST}


def test_the_pre_counted_figures_count_the_same_tickets(session, ctx_as, monkeypatch):
    monkeypatch.setattr(service_sums, "EXACT_UP_TO", 0)
    system = Context(session, SYSTEM, Events(), "r")
    log.keep_many(system, opening())
    assert _totals(session, ctx_as) == {caller: len(tickets) for caller, tickets in FIRST.items()}
    for envelope in changes():
        log.keep_many(system, [envelope])
    assert _totals(session, ctx_as) == {caller: len(tickets) for caller, tickets in AFTER.items()}


def test_each_caller_counts_and_lists_the_tickets_the_desk_shows_them(session, ctx_as):
    system = Context(session, SYSTEM, Events(), "r")
    log.keep_many(system, opening())
    assert _seen(session, ctx_as) == _by_owner(FIRST)
    for envelope in changes():  # one event a batch, as they come
        log.keep_many(system, [envelope])
    assert _seen(session, ctx_as) == _by_owner(AFTER)


def test_a_rebuild_replays_the_groups_and_the_openers(engine, session, ctx_as):
    system = Context(session, SYSTEM, Events(), "r")
    log.keep_many(system, opening() + changes())
    session.commit()
    job = rebuild.start(Context(session, SYSTEM, Events(), "r"))
    session.commit()
    assert jobs.run(engine, Base.metadata, job["id"], rebuild.run)["status"] == "done"
    session.begin()
    assert _seen(session, ctx_as) == _by_owner(AFTER)
