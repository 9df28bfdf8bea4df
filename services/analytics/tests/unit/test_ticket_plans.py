"""PostgreSQL's plans of the ticket figures that read an index alone: a report filtered by status and channel counts
from the status index (the channel is in it). Sequential and bitmap scans turned off for the test's few rows, which
a scan of the table serves as well."""
from __future__ import annotations

from crm_analytics_contracts import reports as c
from crm_common.context import SYSTEM, Context
from crm_common.testing.events import Events
from crm_common.testing.plans import explained

from crm_analytics.domain import log, reports

from .test_ticket_sums import events


def _plans(session, run, off=("seqscan", "bitmapscan")) -> list[str]:
    """The EXPLAIN of each SELECT over the tickets that `run()` makes, without the scans `off` names."""
    return explained(session, run, "an_tickets_", off)


def _fed(session) -> None:
    log.keep_many(Context(session, SYSTEM, Events(), "r"), events())


def test_a_report_filtered_by_status_and_channel_counts_from_the_status_index_alone(session, ctx_as):
    _fed(session)
    admin = ctx_as("admin", "adm")
    report = reports.create_report(admin, c.ReportIn().load({
        "name": "Open by phone", "source": "tickets", "columns": ["number", "created_at"],
        "filters": {"status": "open", "channel": "phone"}}))
    plans = _plans(session, lambda: reports.rows(admin, report, 0, 10, count=True))
    assert "Index Only Scan using ix_an_tickets_a_status_created_at" in plans[0], plans[0]  # the count


def test_a_support_agents_tickets_are_read_through_the_indexes_of_their_three_ways_not_a_scan(session, ctx_as):
    """Assigned, opened or of their groups: a BitmapOr of the three indexes (their group ids read first), where an
    IN of a sub-select in the OR would be a filter on every ticket."""
    from .test_ticket_scope import opening
    from crm_analytics.domain import service_figures
    import crm_analytics_contracts as figures
    log.keep_many(Context(session, SYSTEM, Events(), "r"), opening())
    agent = ctx_as("support_agent", "ag-1", "tm-1")
    plans = _plans(session, lambda: service_figures.service(agent, figures.FigureQuery().load({})), off=("seqscan",))
    scoped = [p for p in plans if "created_by" in p]
    assert scoped and all("BitmapOr" in p and "ix_an_tickets_a_group_id" in p for p in scoped), plans
