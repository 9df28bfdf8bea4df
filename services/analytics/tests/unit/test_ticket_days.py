"""The tickets counted per day off the projection's path (domain/ticket_days.py): a dated query's edge days read from
the counted days give the same answer as from the tickets (quantiles too: the same buckets); a batch that changes a
ticket marks its day, which is then read from the tickets until counted again."""
from __future__ import annotations

from contextlib import nullcontext
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from crm_common.context import SYSTEM, Context
from crm_common.testing.events import Events

from crm_analytics.domain import log, service_dated, service_figures, service_sums, ticket_days
from crm_analytics.projections import ticket_sums

from .test_service_dated import RANGES, _env, _events, _iso
from .test_ticket_sums import q


def _keep(session, events: list) -> None:
    log.keep_many(Context(session, SYSTEM, Events(), "r"), events)


def _count_all(session) -> int:
    return ticket_days.refresh_all(lambda: nullcontext(session))


def _marks(session) -> dict:
    """{day: counted}"""
    m = log.active(session).ticket_day_marks
    return {day: state == ticket_sums.DAY_COUNTED for day, state in session.execute(select(m.c.day, m.c.state))}


def _answer(ctx, args: dict) -> dict:
    return {k: v for k, v in service_figures.service(ctx, q(**args)).items() if k != "as_of"}


@pytest.mark.parametrize("group_by", [None, "month"])
@pytest.mark.parametrize("start,end", RANGES)
def test_the_edge_days_counted_give_the_answer_the_tickets_give(session, ctx_as, monkeypatch, start, end, group_by):
    _keep(session, _events())
    monkeypatch.setattr(service_sums, "EXACT_UP_TO", 0)
    admin = ctx_as("admin", "adm")
    args = {k: v for k, v in (("from", start), ("to", end), ("group_by", group_by)) if v is not None}
    from_tickets = _answer(admin, args)  # no day counted yet: every edge day read from the tickets
    assert _count_all(session) > 0
    read, counted = [], []
    monkeypatch.setattr(service_dated, "_tickets", lambda *a, **k: read.append(a) or ([], []))
    months = ticket_days._counted_months
    monkeypatch.setattr(ticket_days, "_counted_months", lambda *a: counted.extend(months(*a)) or counted)
    assert _answer(admin, args) == from_tickets
    assert not read  # every edge day from the counted rows
    if from_tickets["quantiles"]["exact"] is False and from_tickets["totals"]["opened"]:
        assert counted  # the whole months' accounts from the months' rows


def test_every_day_of_the_tickets_months_is_counted_and_marked_clean(session):
    _keep(session, _events())
    marks = _marks(session)
    assert marks and not any(marks.values())  # the projection marked the days it changed tickets of
    _count_all(session)
    marks = _marks(session)
    assert all(marks.values())
    # November 2026 to February 2027 (the tickets' months), every day, those without a ticket too
    assert set(marks) == {date(2026, 11, 1) + timedelta(days=n) for n in range((date(2027, 3, 1) - date(2026, 11, 1)).days)}
    assert ticket_days.claim(session) is None


def test_a_ticket_changed_after_its_day_was_counted_is_read_from_the_tickets_until_counted_again(
        session, ctx_as, monkeypatch):
    _keep(session, _events())
    monkeypatch.setattr(service_sums, "EXACT_UP_TO", 0)
    admin = ctx_as("admin", "adm")
    args = {"from": "2026-11-20", "to": "2027-01-05"}  # edges: November 20th to 30th, January 1st to 5th
    _count_all(session)
    before = _answer(admin, args)
    day = date(2026, 11, 24)
    opened_at = ticket_days.midnight(day) + timedelta(hours=5)
    solved = [e["data"]["id"] for e in _events() if e["type"].endswith("ticket_solved.v1")]
    _keep(session, [
        _env("service_desk.ticket_opened.v1", {"id": "late", "number": "TL", "status": "new", "channel": "chat",
                                               "type": "question", "sla_policy_id": "p1", "assignee_id": "ag-1"},
             opened_at),
        _env("service_desk.ticket_first_response.v1", {"id": "late", "status": "open",
                                                       "first_responded_at": _iso(opened_at + timedelta(hours=3))},
             opened_at + timedelta(minutes=1))])
    assert _marks(session)[day] is False and _marks(session)[date(2026, 11, 25)] is True
    after = _answer(admin, args)
    assert after["totals"]["opened"] == before["totals"]["opened"] + 1
    assert dict(after["totals"]["per_channel"])["chat"] == dict(before["totals"]["per_channel"])["chat"] + 1
    _count_all(session)
    assert _answer(admin, args) == after  # counted again: the same answer from the day's rows
    assert solved  # (the events solve tickets: their days' times are in the rows compared)


def test_the_top_accounts_of_counted_months_and_edge_days_are_the_tickets_ones_ties_in_id_order(session):
    events = _events()
    for i in range(30):  # ties: accounts of one ticket each in December
        events.append(_env("service_desk.ticket_opened.v1", {
            "id": f"x{i}", "number": f"X{i}", "status": "new", "channel": "chat", "type": "question",
            "account_id": f"acc-z{29 - i:02d}"}, ticket_days.midnight(date(2026, 12, 5)) + timedelta(hours=i % 20)))
    _keep(session, events)
    t = log.active(session)
    months, edges = [date(2026, 12, 1)], [(date(2026, 11, 20), date(2026, 12, 1), 1), (date(2027, 1, 1), date(2027, 1, 6), 1)]
    from_tickets = ticket_days.top_accounts(session, t, months, edges)
    _count_all(session)
    assert ticket_days._counted_months(session, t, months) == months
    assert ticket_days.top_accounts(session, t, months, edges) == from_tickets
    k = t.tickets
    want = session.execute(select(k.c.account_id, func.count()).where(
        ticket_days.between(k.c.created_at, date(2026, 11, 20), date(2027, 1, 6)), k.c.account_id.is_not(None))
        .group_by(k.c.account_id).order_by(func.count().desc(), k.c.account_id).limit(20)).all()
    assert from_tickets == [tuple(r) for r in want]
    assert [a for a, _ in from_tickets][7:] == [f"acc-z{i:02d}" for i in range(13)]  # the ties in id order


def test_a_batch_marks_the_days_of_the_tickets_it_changed_and_only_those(session):
    _keep(session, _events())
    _count_all(session)
    first = _events()[0]  # ticket t0, opened on 2026-11-02
    _keep(session, [_env("service_desk.ticket_solved.v1", {"id": "t0", "status": "solved",
                                                          "solved_at": _iso(ticket_days.midnight(date(2026, 11, 9)))},
                         ticket_days.midnight(date(2026, 11, 9)))])
    marks = _marks(session)
    assert first["data"]["id"] == "t0"
    assert [d for d, clean in marks.items() if not clean] == [date(2026, 11, 2)]


def test_a_day_changed_while_it_is_counted_stays_changed_and_is_read_from_the_tickets(session, ctx_as, monkeypatch):
    _keep(session, _events())
    monkeypatch.setattr(service_sums, "EXACT_UP_TO", 0)
    _count_all(session)
    day = date(2026, 11, 2)  # ticket t0's
    _keep(session, [_env("service_desk.ticket_solved.v1", {"id": "t0", "status": "solved",
                                                          "solved_at": _iso(ticket_days.midnight(day))},
                         ticket_days.midnight(day + timedelta(days=3)))])
    claimed = ticket_days.claim(session)
    assert claimed == (log.active(session) is log.GENERATIONS["a"] and "a" or "b", day)
    # a batch reopens t0 after the claim, before the count ends
    _keep(session, [_env("service_desk.ticket_reopened.v1", {"id": "t0", "status": "open"},
                         ticket_days.midnight(day + timedelta(days=4)))])
    assert ticket_days.count_claimed(session, *claimed) is False
    assert _marks(session)[day] is False
    args = {"from": "2026-10-01", "to": "2026-11-10"}  # October (no ticket) whole, November 1st to 10th read
    found = _answer(ctx_as("admin", "adm"), args)
    monkeypatch.setattr(ticket_days, "clean", lambda *a: set())  # every edge day from the tickets
    assert found == _answer(ctx_as("admin", "adm"), args)
    assert found["quantiles"]["exact"] is False  # (the dated path's answer)


def test_the_timer_counts_every_day_of_the_tickets_in_transactions_of_its_own(engine):
    from sqlalchemy.orm import Session

    from crm_common.unit_of_work import UnitOfWork

    from crm_analytics.models import Base
    from crm_analytics.service import AnalyticsService
    with Session(engine) as session, session.begin():
        _keep(session, _events())

    class Service:
        db = UnitOfWork(engine, Base.metadata, "analytics", None, None, None)
    assert AnalyticsService.count_ticket_days(Service()) is None  # (a failed run: periodic's FAILED)
    with Session(engine) as session, session.begin():
        marks = _marks(session)
        assert len(marks) == (date(2027, 3, 1) - date(2026, 11, 1)).days and all(marks.values())


def test_a_rebuild_counts_every_day_of_the_generation_it_fills_before_it_answers(engine, monkeypatch):
    from sqlalchemy.orm import Session

    from crm_common import jobs

    from crm_analytics.domain import rebuild
    from crm_analytics.models import Base
    with Session(engine) as session, session.begin():
        _keep(session, _events())
        job = jobs.create(session.connection(), Base.metadata, rebuild.KIND, payload={}, total=0, actor=SYSTEM)
    days = (date(2027, 3, 1) - date(2026, 11, 1)).days  # the tickets' months, every day
    done = jobs.run(engine, Base.metadata, job["id"], rebuild.run)
    assert done["status"] == "done" and done["result"]["days_counted"] == days, done
    with Session(engine) as session, session.begin():
        assert log.state(session).active == "b"
        marks = _marks(session)
        assert len(marks) == days and all(marks.values())
        monkeypatch.setattr(service_sums, "EXACT_UP_TO", 0)
        read = []
        monkeypatch.setattr(service_dated, "_tickets", lambda *a, **k: read.append(a) or ([], []))
        from .conftest import actor
        admin = Context(session, actor("admin", "adm"), Events(), "r")
        service_figures.service(admin, q(**{"from": "2026-11-03", "to": "2027-01-20"}))
        assert not read  # the new generation's edge days from its counted rows at its first answer
