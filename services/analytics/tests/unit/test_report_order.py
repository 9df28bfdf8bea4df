"""A report's rows in its order: the newest first by default, a row without a value of the sort column last; every
row of a source dated (its first event's time), even when its events came out of order, without a time, or were
replayed by a rebuild."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from crm_analytics_contracts import reports as c
from crm_common import jobs
from crm_common.context import SYSTEM, Context
from crm_common.testing.events import Events

from crm_analytics.domain import log, rebuild, reports
from crm_analytics.models import Base

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)  # the feed's (conftest.py)


def _z(days: float) -> str:
    return (T0 + timedelta(days=days)).isoformat().replace("+00:00", "Z")


def _page(ctx, sort=None):
    report = reports.create_report(ctx, c.ReportIn().load({
        "name": "Tickets", "source": "tickets", "columns": ["number", "created_at", "solved_at"],
        **({"sort": sort} if sort else {})}))
    ran = reports.run_report(ctx, report.id, c.RunQuery().load({}))
    return [(row["number"], row["created_at"], row["solved_at"]) for row in ran["rows"]]


def test_a_ticket_report_is_newest_first_every_ticket_dated_out_of_order_untimed_or_rebuilt(engine, session, feed,
                                                                                           ctx_as):
    opened = "service_desk.ticket_opened.v1"
    feed(opened, {"id": "t1", "number": "T-1", "status": "new"}, 0)
    feed(opened, {"id": "t2", "number": "T-2", "status": "new"}, 2)
    feed("service_desk.ticket_solved.v1", {"id": "t2", "number": "T-2", "status": "solved", "solved_at": _z(2.5)},
         2.5)
    # T-3's update was taken before its opening: it is dated when it was opened all the same
    feed("service_desk.ticket_updated.v1", {"id": "t3", "number": "T-3", "status": "open"}, 3)
    feed(opened, {"id": "t3", "number": "T-3", "status": "new"}, 1)
    # a producer that sent no time: the ticket is dated when the event was received
    log.keep(Context(session, SYSTEM, Events(), "r"), {
        "event_id": str(uuid.uuid4()), "type": opened, "producer": "service_desk", "actor": None,
        "data": {"id": "t4", "number": "T-4", "status": "new"}})
    admin = ctx_as("admin", "adm")
    newest = _page(admin)
    assert [n for n, _, _ in newest] == ["T-4", "T-2", "T-3", "T-1"]
    assert newest[1:] == [("T-2", _z(2), _z(2.5)), ("T-3", _z(1), None), ("T-1", _z(0), None)]
    assert newest[0][1] > _z(3)
    # a column that may be empty: the tickets without a value last, either way
    assert [n for n, _, _ in _page(admin, "-solved_at")][:1] == ["T-2"]
    assert [n for n, _, _ in _page(admin, "solved_at")][:1] == ["T-2"]

    session.commit()  # a rebuild replays the log into the other generation: the same page
    job = rebuild.start(ctx_as("admin", "adm"))
    session.commit()
    done = jobs.run(engine, Base.metadata, job["id"], rebuild.run)
    assert done["status"] == "done", done
    session.begin()
    assert log.status(ctx_as("admin", "adm"))["generation"] == "b"
    assert _page(ctx_as("admin", "adm")) == newest
