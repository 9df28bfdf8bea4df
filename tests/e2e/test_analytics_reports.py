"""Saved reports and dashboards through the gateway: an analyst downloads an XLSX that opens in a spreadsheet,
a CSV without formulas; a rep's run of a shared report is their own rows."""
from __future__ import annotations

import csv
import io
import uuid

import openpyxl
import pytest

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e


def test_reports_run_as_json_csv_and_xlsx_and_dashboards_show_the_viewers_rows(admin):
    team = admin.post("/api/v1/teams", json={"name": f"Reports {uuid.uuid4().hex[:6]}"}).json()
    rep = admin.as_new_user(["sales_rep"], team_id=team["id"])
    manager = admin.as_new_user(["sales_manager"], team_id=team["id"])
    tag = uuid.uuid4().hex[:6]
    for name, amount in ((f"=cmd|' /C calc'!A0 {tag}", "120.50"), (f"Plain {tag}", "80.00")):
        assert rep.post("/api/v1/opportunities", json={"name": name, "amount": amount, "currency": "EUR",
                                                       "expected_close_date": "2026-12-31"}).status_code == 201
    made = manager.post("/api/v1/reports", json={"name": "Team deals", "source": "opportunities",
                                                 "columns": ["name", "amount", "stage", "created_at"],
                                                 "filters": {"owner_id": rep.user["id"]}, "sort": "-amount",
                                                 "chart": "bar", "shared_team_id": team["id"]})
    assert made.status_code == 201, made.text
    report = made.json()
    assert made.headers["Location"].endswith(f"/api/v1/reports/{report['id']}")
    bad = manager.post("/api/v1/reports", json={"name": "x", "source": "opportunities", "columns": ["colour"]})
    assert bad.status_code == 422 and "columns" in bad.json()["errors"]
    ran = eventually(lambda: manager.get(f"/api/v1/reports/{report['id']}/run").json(),
                     until=lambda body: body.get("total") == 2)
    assert [row["amount"] for row in ran["rows"]] == ["120.50", "80.00"]
    assert rep.get(f"/api/v1/reports/{report['id']}/run").json()["total"] == 2  # shared with the team: the rep's rows
    assert rep.get(f"/api/v1/reports/{report['id']}/run", params={"format": "xlsx"}).status_code == 403

    downloaded = manager.get(f"/api/v1/reports/{report['id']}/run", params={"format": "xlsx"})
    assert downloaded.status_code == 200 and downloaded.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(downloaded.content)).active
    assert [c.value for c in sheet[1]] == ["name", "amount", "stage", "created_at"]
    assert sheet["A2"].value.startswith("'=cmd") and sheet["B2"].value == 120.5 and sheet["D2"].is_date
    as_csv = manager.get(f"/api/v1/reports/{report['id']}/run", params={"format": "csv"})
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert rows[0] == ["name", "amount", "stage", "created_at"] and rows[1][0].startswith("'=") and len(rows) == 3
    assert manager.get(f"/api/v1/reports/{report['id']}/run", params={"format": "pdf"}).status_code == 422

    board = manager.post("/api/v1/dashboards", json={"name": "Team", "shared_team_id": team["id"],
                                                     "widgets": [{"report_id": report["id"], "chart": "bar"}]})
    assert board.status_code == 201, board.text
    seen = rep.get(f"/api/v1/dashboards/{board.json()['id']}").json()
    assert seen["widgets"][0]["data"]["total"] == 2
    stranger = admin.as_new_user(["sales_rep"])
    assert stranger.get(f"/api/v1/dashboards/{board.json()['id']}").status_code == 404
    assert stranger.get(f"/api/v1/reports/{report['id']}/run").status_code == 404
