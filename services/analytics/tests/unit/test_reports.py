"""Saved reports and dashboards: definitions checked, shared with a team or role, run over the viewer's scope;
the exports' typed cells and formula guard."""
from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from crm_analytics_contracts import reports as c
from crm_common import exports
from crm_common.errors import ServiceError

from crm_analytics.domain import reports


@pytest.fixture
def deals(feed):
    for i, (owner, amount, stage) in enumerate((("rep-1", "100.00", "prospecting"), ("rep-1", "200.00", "closed_won"),
                                                ("rep-2", "50.00", "prospecting"))):
        feed("sales.opportunity_created.v1", {"id": f"o{i}", "name": f"=HYPERLINK(\"x\") {i}", "owner_id": owner,
                                              "team_id": "t-1", "amount": amount, "currency": "EUR", "stage": stage,
                                              "probability": 10}, i)


def make(ctx, **body):
    return reports.create_report(ctx, c.ReportIn().load({"name": "Deals", "source": "opportunities",
                                                         "columns": ["name", "amount", "stage", "created_at"], **body}))


def run(ctx, report, **args):
    return reports.run_report(ctx, report.id, c.RunQuery().load(args))


def test_a_report_runs_over_the_viewers_scope_even_when_shared(ctx_as, deals):
    manager = ctx_as("sales_manager", "mgr", team_id="t-1")
    report = make(manager, shared_team_id="t-1", sort="-amount")
    ran = run(manager, report)
    assert [row["amount"] for row in ran["rows"]] == ["200.00", "100.00", "50.00"] and ran["total"] == 3
    assert ran["columns"][1] == {"name": "amount", "type": "money"}
    rep = ctx_as("sales_rep", "rep-1", team_id="t-1")
    assert [row["amount"] for row in run(rep, report)["rows"]] == ["200.00", "100.00"]  # a rep sees their own
    assert [x.id for x in reports.list_reports(rep, {"limit": 50})["items"]] == [report.id]
    with pytest.raises(ServiceError) as refused:
        reports.update_report(rep, report.id, {"name": "mine now"})
    assert refused.value.code == "forbidden"
    stranger = ctx_as("sales_rep", "rep-9", team_id="t-9")
    with pytest.raises(ServiceError) as missing:
        reports.get_report(stranger, report.id)
    assert missing.value.code == "not_found"
    with pytest.raises(ServiceError) as denied:
        run(rep, report, format="xlsx")
    assert denied.value.code == "forbidden"  # a rep may not export


def test_grouped_reports_and_paging(ctx_as, deals):
    admin = ctx_as("admin", "adm")
    grouped = make(admin, columns=["stage", "amount"], group_by="stage", sort="-count")
    assert run(admin, grouped)["rows"] == [{"key": "prospecting", "count": 2, "amount": "150.00"},
                                           {"key": "closed_won", "count": 1, "amount": "200.00"}]
    plain = make(admin, sort="amount", filters={"stage": "prospecting", "from": "2026-11-01"})
    first = run(admin, plain, limit=1)
    assert (first["rows"][0]["amount"], first["total"], first["next_cursor"]) == ("50.00", 2, 1)
    second = run(admin, plain, limit=1, cursor=1)
    assert (second["rows"][0]["amount"], second["next_cursor"], second["total"]) == ("100.00", None, None)


def test_bad_definitions_are_422s_naming_the_field(ctx_as):
    admin = ctx_as("admin", "adm")
    for body, field in (({"columns": ["colour"]}, "columns"), ({"group_by": "colour"}, "group_by"),
                        ({"filters": {"colour": "red"}}, "filters"), ({"filters": {"from": "soon"}}, "filters"),
                        ({"sort": "-colour"}, "sort")):
        with pytest.raises(ServiceError) as refused:
            make(admin, **body)
        assert field in refused.value.errors, body
    with pytest.raises(ServiceError) as refused:
        make(ctx_as("sales_rep", "r", team_id="t-1"), shared_team_id="t-2")
    assert "shared_team_id" in refused.value.errors


def test_a_dashboard_shows_each_widget_over_the_viewers_scope(ctx_as, deals):
    manager = ctx_as("sales_manager", "mgr", team_id="t-1")
    report = make(manager, shared_role="sales_rep")
    board = reports.create_dashboard(manager, c.DashboardIn().load({"name": "Team", "shared_role": "sales_rep",
                                                                    "widgets": [{"report_id": report.id, "chart": "bar"}]}))
    seen = reports.get_dashboard(ctx_as("sales_rep", "rep-2"), board.id)
    assert seen["widgets"][0]["chart"] == "bar" and seen["widgets"][0]["data"]["total"] == 1
    assert reports.get_dashboard(manager, board.id)["widgets"][0]["data"]["total"] == 3
    with pytest.raises(ServiceError) as refused:
        reports.create_dashboard(ctx_as("sales_rep", "rep-9"), c.DashboardIn().load(
            {"name": "x", "widgets": [{"report_id": "nope"}]}))
    assert "widgets" in refused.value.errors


def test_exports_type_their_cells_and_guard_formulas(tmp_path):
    columns = [("name", "text"), ("amount", "money"), ("created_at", "datetime"), ("n", "integer")]
    pages = [[{"name": "=1+2", "amount": "-12.50", "created_at": "2026-11-02T09:00:00Z", "n": 3}],
             [{"name": "@SUM(A1)", "amount": None, "created_at": None, "n": None}]]
    text = "".join(exports.csv_chunks(columns, pages))
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[1] == ["'=1+2", "-12.50", "2026-11-02T09:00:00Z", "3"] and parsed[2][0] == "'@SUM(A1)"
    path = tmp_path / "r.xlsx"
    assert exports.write_xlsx(str(path), columns, pages) == 2
    sheet = openpyxl.load_workbook(path).active
    assert [cell.value for cell in sheet[1]] == ["name", "amount", "created_at", "n"]
    assert sheet["A2"].value == "'=1+2" and sheet["B2"].value == -12.5 and sheet["D2"].value == 3
    assert sheet["C2"].is_date and sheet["C2"].value.year == 2026


def test_a_scheduled_report_is_mailed_as_csv_in_its_authors_scope(ctx_as, deals, session):
    from datetime import timedelta

    from crm_analytics.domain import schedules
    rep = ctx_as("sales_rep", "rep-1", team_id="t-1")
    report = make(rep, schedule={"cadence": "weekly", "recipients": ["boss@example.com", "me@example.com"]})
    assert report.next_run_at is not None
    sent = []
    now = report.next_run_at + timedelta(minutes=1)
    assert schedules.run_due(session, report.next_run_at - timedelta(minutes=1), lambda *a: sent.append(a)) == 0
    assert schedules.run_due(session, now, lambda *a: sent.append(a)) == 1
    assert [recipient for _, _, recipient in sent] == ["boss@example.com", "me@example.com"]
    attachment = next(sent[0][0].iter_attachments())
    lines = attachment.get_content().splitlines()
    assert lines[0] == "name,amount,stage,created_at" and len(lines) == 3  # the rep's two deals, not rep-2's
    assert lines[1].startswith('"\'=HYPERLINK')  # quoted by csv, the formula guarded
    assert report.next_run_at == now + timedelta(days=7)
    with pytest.raises(Exception):
        make(rep, schedule={"cadence": "hourly", "recipients": ["x@example.com"]})
