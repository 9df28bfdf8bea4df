"""A dated company-wide service query from the pre-counted months and the tickets of the edge days
(domain/service_dated.py) gives the exact path's answer: every count, rate, compliance and breakdown the same, the
quantiles within the stated bound; tickets exactly at the range's bounds and on its edge days counted as the exact
path counts them."""
from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from crm_common.context import SYSTEM, Context
from crm_common.testing.events import Events

from crm_analytics.domain import log, service_dated, service_figures, service_sums
from crm_analytics.projections import ticket_sums

from .test_ticket_sums import assert_times_within_bound, q

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
# tickets exactly at a range's bounds and a moment before or after them
BOUNDS = [datetime(2026, 12, 1, tzinfo=timezone.utc), datetime(2026, 11, 30, 23, 59, 59, 999000, tzinfo=timezone.utc),
          datetime(2027, 1, 10, tzinfo=timezone.utc), datetime(2027, 1, 9, 23, 59, 59, 500000, tzinfo=timezone.utc),
          datetime(2026, 11, 15, tzinfo=timezone.utc), datetime(2027, 2, 1, tzinfo=timezone.utc)]


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _env(type_, data, at: datetime):
    return {"event_id": str(uuid.uuid4()), "type": type_, "producer": "service_desk", "occurred_at": _iso(at),
            "actor": {"user_id": "u"}, "data": data}


def _events() -> list[dict]:
    """Tickets opened every ~0.9 day over 3.5 months and at the bounds above, answered, solved, reopened, breached."""
    rng = random.Random(11)
    out = []
    opened = [START + timedelta(days=i * 0.9) for i in range(120)] + BOUNDS
    for i, at in enumerate(opened):
        out.append(_env("service_desk.ticket_opened.v1", {
            "id": f"t{i}", "number": f"T{i}", "status": "new", "priority": "high" if i % 4 == 0 else "normal",
            "channel": ("email", "phone", "chat")[i % 3], "type": "question", "account_id": f"acc-{i % 7}",
            "assignee_id": f"ag-{i % 3}", "sla_policy_id": ("p1", "p2", None)[i % 3] if i % 5 else None}, at))
        if i % 7 != 0:
            out.append(_env("service_desk.ticket_first_response.v1", {
                "id": f"t{i}", "status": "open", "first_responded_at": _iso(at + timedelta(hours=rng.uniform(0.01, 40)))},
                at + timedelta(minutes=1)))
        if i % 2 == 0:
            out.append(_env("service_desk.ticket_solved.v1", {
                "id": f"t{i}", "status": "solved", "solved_at": _iso(at + timedelta(hours=rng.uniform(0.1, 300)))},
                at + timedelta(minutes=2)))
        if i % 6 == 0:
            out.append(_env("service_desk.ticket_reopened.v1", {"id": f"t{i}", "status": "open"},
                            at + timedelta(minutes=3)))
        if i % 8 == 1:
            out.append(_env("service_desk.sla_breached.v1", {"id": f"t{i}", "kind": "resolution", "policy_id": "p2"},
                            at + timedelta(minutes=4)))
    return out


RANGES = [("2026-12-01", "2026-12-31"),  # one whole month
          ("2026-12-01", "2027-01-09"),  # a whole month and the edge days after it; a ticket at the end's midnight
          ("2026-11-15", "2027-01-10"),  # edges at both ends, their first moments
          ("2026-11-30", "2027-01-31"),
          # edges longer than half their month: the month's rows less its other days (edge_days' -1)
          ("2026-11-10", "2027-01-25"),  # both edges so
          ("2026-11-20", "2027-01-20"),  # the first edge read as it is, the last one so
          ("2026-11-02", "2027-01-09"),  # the first so (Nov 1st's tickets off), the last read (the 10th's midnight out)
          ("2026-11-14", "2027-01-31"),  # so (November 1st to 13th off), January whole
          (None, "2026-12-31"), ("2026-12-02", None), (None, "2027-01-09"), ("2026-11-01", None),
          ("2030-01-01", "2030-03-31")]  # no ticket


def _strip(found: dict) -> dict:
    return {k: v for k, v in found.items() if k not in ("first_response", "resolution")}


@pytest.mark.parametrize("group_by", [None, "month"])
@pytest.mark.parametrize("start,end", RANGES)
def test_a_dated_query_from_the_months_and_the_edge_days_is_the_exact_one_but_the_quantiles_within_their_bound(
        session, ctx_as, monkeypatch, start, end, group_by):
    log.keep_many(Context(session, SYSTEM, Events(), "r"), _events())
    admin = ctx_as("admin", "adm")
    args = {k: v for k, v in (("from", start), ("to", end), ("group_by", group_by)) if v is not None}
    exact = service_figures.service(admin, q(**args))
    assert exact["quantiles"] == service_sums.EXACT  # 126 tickets: read one by one
    monkeypatch.setattr(service_sums, "EXACT_UP_TO", 0)
    fast = service_figures.service(admin, q(**args))
    assert fast["quantiles"] == {"exact": False, "relative_error": ticket_sums.ALPHA}
    assert [i["key"] for i in fast["items"]] == [i["key"] for i in exact["items"]]
    assert exact["totals"]["opened"] > 0 or start == "2030-01-01"
    for got, want in list(zip(fast["items"], exact["items"])) + [(fast["totals"], exact["totals"])]:
        assert _strip(got) == _strip(want)
        assert_times_within_bound(got, want)


def test_the_tickets_at_the_bounds_count_as_the_exact_path_counts_them(session, ctx_as, monkeypatch):
    log.keep_many(Context(session, SYSTEM, Events(), "r"), _events())
    monkeypatch.setattr(service_sums, "EXACT_UP_TO", 0)
    admin = ctx_as("admin", "adm")
    by_month = service_figures.service(admin, q(**{"from": "2026-12-01", "to": "2027-01-09", "group_by": "month"}))
    assert by_month["quantiles"]["exact"] is False
    opened = {i["key"]: i["opened"] for i in by_month["items"]}
    december = sum(1 for i in range(120) if date(2026, 12, 1) <= (START + timedelta(days=i * 0.9)).date()
                   <= date(2026, 12, 31))
    early_january = sum(1 for i in range(120) if date(2027, 1, 1) <= (START + timedelta(days=i * 0.9)).date()
                        <= date(2027, 1, 9))
    # December 1st's midnight in, November 30th's last moment out; January 9th's last moment in, the 10th's out
    assert opened == {"2026-12": december + 1, "2027-01": early_january + 1}


@pytest.mark.parametrize("args", [{"from": "2026-12-02", "to": "2026-12-30"}, {"from": "2026-11-15", "to": "2026-12-14"},
                                  {"from": "2026-12-01", "to": "2026-12-31", "group_by": "owner"},
                                  {"from": "2026-12-01", "to": "2026-12-31", "channel": "email"}])
def test_a_range_without_a_whole_month_or_grouped_or_filtered_otherwise_is_read_from_the_tickets(
        session, ctx_as, monkeypatch, args):
    log.keep_many(Context(session, SYSTEM, Events(), "r"), _events())
    monkeypatch.setattr(service_sums, "EXACT_UP_TO", 0)
    assert service_figures.service(ctx_as("admin", "adm"), q(**args))["quantiles"]["exact"] is True


def test_a_rep_s_dated_query_stays_their_own_and_exact(session, ctx_as, monkeypatch):
    log.keep_many(Context(session, SYSTEM, Events(), "r"), _events())
    monkeypatch.setattr(service_sums, "EXACT_UP_TO", 0)
    rep = service_figures.service(ctx_as("sales_rep", "ag-1"), q(**{"from": "2026-12-01", "to": "2026-12-31"}))
    assert rep["quantiles"]["exact"] is True
    admin = service_figures.service(ctx_as("admin", "adm"), q(**{"from": "2026-12-01", "to": "2026-12-31"}))
    assert 0 < rep["totals"]["opened"] < admin["totals"]["opened"]


def test_an_edge_longer_than_half_its_month_is_read_as_the_month_less_its_other_days():
    d = date
    first, last = d(2026, 12, 1), d(2027, 1, 1)
    assert service_dated.edge_days(d(2026, 11, 16), d(2027, 1, 15), first, last) == [
        (d(2026, 11, 16), first, 1), (last, d(2027, 1, 16), 1)]  # 15 of 30 days, 15 of 31: read as they are
    assert service_dated.edge_days(d(2026, 11, 15), d(2027, 1, 16), first, last) == [
        (d(2026, 11, 1), d(2026, 11, 15), -1), (d(2027, 1, 17), d(2027, 2, 1), -1)]  # 16 of 30, 16 of 31
    assert service_dated.edge_days(d(2026, 12, 1), d(2027, 1, 30), first, last) == [(d(2027, 1, 31), d(2027, 2, 1), -1)]
    assert service_dated.edge_days(None, d(2026, 12, 31), None, last) == []
    assert service_dated.edge_days(d(2026, 11, 2), None, first, None) == [(d(2026, 11, 1), d(2026, 11, 2), -1)]


def test_the_edge_statement_s_own_settings_are_put_back_for_the_rest_of_the_transaction(session, ctx_as, monkeypatch):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL's settings (JIT, work_mem)")
    log.keep_many(Context(session, SYSTEM, Events(), "r"), _events())
    monkeypatch.setattr(service_sums, "EXACT_UP_TO", 0)
    settings = text("SELECT current_setting('jit'), current_setting('work_mem')")
    before = session.execute(settings).one()
    found = service_figures.service(ctx_as("admin", "adm"), q(**{"from": "2026-11-15", "to": "2027-01-10"}))
    assert found["quantiles"]["exact"] is False  # the edge days read
    assert session.execute(settings).one() == before


def test_the_whole_months_of_a_range():
    d = date
    assert service_dated.span(d(2026, 12, 1), d(2026, 12, 31)) == (d(2026, 12, 1), d(2027, 1, 1))
    assert service_dated.span(d(2026, 11, 15), d(2027, 1, 10)) == (d(2026, 12, 1), d(2027, 1, 1))
    assert service_dated.span(d(2026, 12, 2), d(2027, 1, 30)) is None
    assert service_dated.span(None, d(2026, 12, 30)) == (None, d(2026, 12, 1))
    assert service_dated.span(d(2026, 12, 31), None) == (d(2027, 1, 1), None)
