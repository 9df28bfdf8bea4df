"""The crossed pre-counted tickets (projections/ticket_sums.py: month x channel x policy, month x account, channel x
account) answer a channel filter over all time and a dated range (whole months, edge days, by month) as the exact
path does, on random tickets: every count, rate, compliance, the channels, the policies, the top accounts (ties in
the exact path's order) the same, the quantiles within the stated bound."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from crm_common.context import SYSTEM, Context
from crm_common.testing.events import Events

from crm_analytics.domain import log, service_figures, service_sums
from crm_analytics.projections import ticket_sums

from .test_ticket_sums import assert_times_within_bound, q

START = datetime(2026, 9, 20, tzinfo=timezone.utc)
CHANNELS = ("email", "phone", "chat", "portal")


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _env(type_, data, at: datetime):
    return {"event_id": str(uuid.uuid4()), "type": type_, "producer": "service_desk", "occurred_at": _iso(at),
            "actor": {"user_id": "u"}, "data": data}


def _random_events(seed: int, n: int = 160) -> list[dict]:
    """n tickets opened at random over four months on random channels (some none), policies (some none), accounts
    (few: ties; some none), then answered, solved, reopened, breached, moved to another channel or deleted."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        at = START + timedelta(days=rng.uniform(0, 125))
        tid = f"t{seed}-{i}"
        out.append(_env("service_desk.ticket_opened.v1", {
            "id": tid, "number": f"T{i}", "status": "new", "priority": rng.choice(("low", "normal", "high")),
            "channel": rng.choice(CHANNELS + (None,)), "type": "question",
            "account_id": rng.choice([f"acc-{rng.randint(0, 11)}", f"ACC-{rng.randint(0, 3)}", None]),
            "assignee_id": f"ag-{rng.randint(0, 4)}", "sla_policy_id": rng.choice(("p1", "p2", "P3", None))}, at))
        later = at
        for kind in rng.sample(("answer", "solve", "reopen", "breach", "move", "delete"), rng.randint(0, 4)):
            later += timedelta(hours=rng.uniform(0.01, 50))
            if kind == "answer":
                out.append(_env("service_desk.ticket_first_response.v1", {
                    "id": tid, "status": "open", "first_responded_at": _iso(later)}, later))
            elif kind == "solve":
                out.append(_env("service_desk.ticket_solved.v1", {"id": tid, "status": "solved",
                                                                   "solved_at": _iso(later)}, later))
            elif kind == "reopen":
                out.append(_env("service_desk.ticket_reopened.v1", {"id": tid, "status": "open"}, later))
            elif kind == "breach":
                out.append(_env("service_desk.sla_breached.v1", {
                    "id": tid, "kind": rng.choice(("first_response", "resolution")),
                    "policy_id": rng.choice(("p1", "p2"))}, later))
            elif kind == "move":
                out.append(_env("service_desk.ticket_updated.v1", {"id": tid, "channel": rng.choice(CHANNELS)},
                                later))
            elif rng.random() < 0.3:
                out.append(_env("service_desk.ticket_deleted.v1", {"id": tid}, later))
    out.sort(key=lambda e: e["occurred_at"])
    return out


def _strip(found: dict) -> dict:
    return {k: v for k, v in found.items() if k not in ("first_response", "resolution")}


def _same_but_quantiles(fast: dict, exact: dict) -> None:
    assert fast["quantiles"] == {"exact": False, "relative_error": ticket_sums.ALPHA}
    assert exact["quantiles"] == service_sums.EXACT
    assert [i["key"] for i in fast["items"]] == [i["key"] for i in exact["items"]]
    for got, want in list(zip(fast["items"], exact["items"])) + [(fast["totals"], exact["totals"])]:
        assert _strip(got) == _strip(want)
        assert_times_within_bound(got, want)


QUERIES = [{"channel": c} for c in CHANNELS + ("fax",)] + [
    {"from": "2026-10-01", "to": "2026-10-31"}, {"from": "2026-10-01", "to": "2027-01-31", "group_by": "month"},
    {"from": "2026-09-25", "to": "2026-12-07"}, {"from": "2026-10-17", "to": "2026-12-31", "group_by": "month"},
    {"from": "2026-11-01"}, {"to": "2026-11-30", "group_by": "month"}]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_channel_filter_and_a_dated_range_from_the_crossed_rows_are_the_exact_answers(
        session, ctx_as, monkeypatch, seed):
    log.keep_many(Context(session, SYSTEM, Events(), "r"), _random_events(seed))
    admin = ctx_as("admin", "adm")
    exact = [service_figures.service(admin, q(**args)) for args in QUERIES]
    monkeypatch.setattr(service_sums, "EXACT_UP_TO", 0)
    for args, want in zip(QUERIES, exact):
        got = service_figures.service(admin, q(**args))
        _same_but_quantiles(got, want)
    assert any(e["totals"]["per_account"] for e in exact)
