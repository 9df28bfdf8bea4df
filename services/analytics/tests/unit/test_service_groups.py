"""A support agent's service figures over all time from the pre-counted tickets (domain/service_groups.py): their
groups' rows summed plus the few tickets assigned to or opened by them in no group of theirs, each ticket once;
the same counts, channels, policies and accounts as the tickets read one by one, the quantiles within their bound;
through a change of a group's members, a ticket moved to another group, and a rebuild."""
from __future__ import annotations

import math
import uuid
from datetime import timedelta

import pytest

import crm_analytics_contracts as c
from crm_common import jobs
from crm_common.context import SYSTEM, Context
from crm_common.testing.events import Events

from crm_analytics.domain import log, rebuild, service_figures, service_sums
from crm_analytics.models import Base
from crm_analytics.projections import ticket_sums

from .conftest import T0

HOUR = 1 / 24
# ticket -> (assignee, group, opened by, channel, policy, account)
TICKETS = {"a": ("ag-1", "g1", "u-x", "email", "p1", "acc-1"), "b": ("ag-3", "g1", "ag-1", "phone", "p1", "acc-2"),
           "c": ("ag-1", "g2", "u-x", "chat", None, "acc-1"), "d": (None, None, "ag-1", "email", "p1", "acc-3"),
           "e": ("ag-3", "g2", "u-x", "email", "p1", "acc-2"), "f": ("ag-2", "g1", "u-x", "chat", None, None),
           "h": (None, "g1", "u-x", "portal", "p1", "acc-4")}
# who reads which tickets, written out: g1 = ag-1, ag-2; g2 = ag-3
FIRST = {"ag-1": {"a", "b", "c", "d", "f", "h"}, "ag-2": {"a", "b", "f", "h"}, "ag-3": {"b", "c", "e"},
         "ag-9": set()}
# after g1 becomes ag-2 alone and h moves to g2
AFTER = {"ag-1": {"a", "b", "c", "d"}, "ag-2": {"a", "b", "f"}, "ag-3": {"b", "c", "e", "h"}, "ag-9": set()}


def env(type_: str, data: dict, days: float, by: str = "u-x") -> dict:
    return {"event_id": str(uuid.uuid4()), "type": type_, "producer": "service_desk",
            "occurred_at": (T0 + timedelta(days=days)).isoformat().replace("+00:00", "Z"),
            "actor": {"user_id": by}, "data": data}


def at(days: float) -> str:
    return (T0 + timedelta(days=days)).isoformat().replace("+00:00", "Z")


def group(type_: str, group_id: str, members: list, days: float) -> dict:
    return env(f"service_desk.config_{type_}.v1", {"entity": "group", "id": group_id, "name": group_id,
                                                   "member_ids": members}, days)


def opening() -> list[dict]:
    """The tickets opened; a: answered in 1 h, solved in 10 h; b: answered in 2 h, its first response breached;
    c: answered in 4 h, solved in 20 h, reopened; f: answered in 3 h; h: answered in 5 h, solved in 30 h; d, e new."""
    out = [group("created", "g1", ["ag-1", "ag-2"], 0), group("created", "g2", ["ag-3"], 0)]
    for i, (ticket, (assignee, group_id, opener, channel, policy, account)) in enumerate(TICKETS.items()):
        out.append(env("service_desk.ticket_opened.v1", {
            "id": ticket, "number": ticket.upper(), "status": "new", "channel": channel, "priority": "normal",
            "account_id": account, "assignee_id": assignee, "group_id": group_id, "sla_policy_id": policy}, i,
            by=opener))
    for ticket, hours in (("a", 1), ("b", 2), ("c", 4), ("f", 3), ("h", 5)):
        day = list(TICKETS).index(ticket)
        out.append(env("service_desk.ticket_first_response.v1", {
            "id": ticket, "status": "open", "first_responded_at": at(day + hours * HOUR)}, day + hours * HOUR))
    for ticket, hours in (("a", 10), ("c", 20), ("h", 30)):
        day = list(TICKETS).index(ticket)
        out.append(env("service_desk.ticket_solved.v1", {
            "id": ticket, "status": "solved", "solved_at": at(day + hours * HOUR)}, day + hours * HOUR))
    out.append(env("service_desk.ticket_reopened.v1", {"id": "c", "status": "open"}, 3))
    out.append(env("service_desk.sla_breached.v1", {"id": "b", "kind": "first_response", "policy_id": "p1"}, 2))
    return out


def changes() -> list[dict]:
    return [group("updated", "g1", ["ag-2"], 10),
            env("service_desk.ticket_updated.v1", {"id": "h", "group_id": "g2"}, 11)]


def q():
    return c.FigureQuery().load({})


def figures(ctx_as, user: str, monkeypatch, exact: bool) -> dict:
    monkeypatch.setattr(service_sums, "EXACT_UP_TO", math.inf if exact else 0)
    return service_figures.service(ctx_as("support_agent", user, "tm-1"), q())


def assert_same(fast: dict, exact: dict) -> None:
    """The pre-counted answer is the exact one but for the quantiles, each within the bound."""
    assert fast["quantiles"] == {"exact": False, "relative_error": ticket_sums.ALPHA}
    assert exact["quantiles"] == {"exact": True, "relative_error": 0.0}
    assert len(fast["items"]) == len(exact["items"])
    for got, want in list(zip(fast["items"], exact["items"])) + [(fast["totals"], exact["totals"])]:
        for measure in ("first_response", "resolution"):
            assert got[measure]["count"] == want[measure]["count"]
            for name in ("median_hours", "p90_hours"):
                if want[measure][name] is None:
                    assert got[measure][name] is None
                else:
                    assert abs(got[measure][name] - want[measure][name]) <= \
                        ticket_sums.ALPHA * want[measure][name] + 0.0005
        assert {k: v for k, v in got.items() if k not in ("first_response", "resolution")} == \
            {k: v for k, v in want.items() if k not in ("first_response", "resolution")}


def check(ctx_as, monkeypatch, expected: dict) -> None:
    for user, tickets in expected.items():
        fast = figures(ctx_as, user, monkeypatch, exact=False)
        exact = figures(ctx_as, user, monkeypatch, exact=True)
        assert fast["totals"]["opened"] == len(tickets), user
        assert fast["totals"]["per_channel"] == _channels(tickets), user
        assert_same(fast, exact)


def _channels(tickets) -> dict:
    out: dict = {}
    for ticket in tickets:
        out[TICKETS[ticket][3]] = out.get(TICKETS[ticket][3], 0) + 1
    return dict(sorted(out.items()))


def test_an_agent_s_figures_are_their_groups_rows_and_their_own_tickets_counted_once(session, ctx_as, monkeypatch):
    """ag-1 reads a (g1, assigned to them: once), b (g1, opened by them: once), f, h (g1), c (assigned, of g2) and
    d (opened by them, no group): the figures worked out by hand."""
    log.keep_many(Context(session, SYSTEM, Events(), "r"), opening())
    got = figures(ctx_as, "ag-1", monkeypatch, exact=False)
    totals = got["totals"]
    assert got["quantiles"]["exact"] is False
    assert [i["key"] for i in got["items"]] == [None]
    assert (totals["opened"], totals["backlog"], totals["reopened"], totals["reopen_rate"]) == (6, 4, 1, 0.3333)
    assert totals["sla_compliance"] == 0.75  # a, b, d, h with p1; b breached
    assert totals["per_channel"] == {"chat": 2, "email": 2, "phone": 1, "portal": 1}
    assert totals["sla_by_policy"] == [{"policy_id": "p1", "tickets": 4, "breached": 1, "compliance": 0.75}]
    assert totals["per_account"] == {"acc-1": 2, "acc-2": 1, "acc-3": 1, "acc-4": 1}
    first, solved = totals["first_response"], totals["resolution"]
    assert (first["count"], solved["count"]) == (5, 3)
    for value, exact in ((first["median_hours"], 3.0), (first["p90_hours"], 4.6),  # 1, 2, 3, 4, 5 h
                         (solved["median_hours"], 20.0), (solved["p90_hours"], 28.0)):  # 10, 20, 30 h
        assert abs(value - exact) <= ticket_sums.ALPHA * exact + 0.0005
    check(ctx_as, monkeypatch, FIRST)


def test_members_changing_and_a_ticket_moving_group_move_the_figures(session, ctx_as, monkeypatch):
    system = Context(session, SYSTEM, Events(), "r")
    log.keep_many(system, opening())
    check(ctx_as, monkeypatch, FIRST)
    for envelope in changes():  # one event a batch, as they come
        log.keep_many(system, [envelope])
    check(ctx_as, monkeypatch, AFTER)


def test_a_rebuild_gives_the_same_figures(engine, session, ctx_as, monkeypatch):
    log.keep_many(Context(session, SYSTEM, Events(), "r"), opening() + changes())
    session.commit()
    job = rebuild.start(Context(session, SYSTEM, Events(), "r"))
    session.commit()
    assert jobs.run(engine, Base.metadata, job["id"], rebuild.run)["status"] == "done"
    session.begin()
    check(ctx_as, monkeypatch, AFTER)


@pytest.mark.parametrize("query", [{"group_by": "owner"}, {"from": "2026-11-02"}, {"channel": "email"}])
def test_an_agent_s_grouped_dated_or_filtered_figures_read_the_tickets(session, ctx_as, monkeypatch, query):
    log.keep_many(Context(session, SYSTEM, Events(), "r"), opening())
    monkeypatch.setattr(service_sums, "EXACT_UP_TO", 0)
    got = service_figures.service(ctx_as("support_agent", "ag-1", "tm-1"), c.FigureQuery().load(query))
    assert got["quantiles"]["exact"] is True
