"""Custom fields in analytics reports, through the gateway, as issue 20's done-when tells it: an administrator
adds a choice field to opportunities, a rep fills it, filters by it in a saved report and their manager sees it
in the exported XLSX and CSV; a field analytics has not heard of is a 422 naming it."""
from __future__ import annotations

import csv
import io
import uuid

import openpyxl
import pytest

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e


def uniq() -> str:
    return uuid.uuid4().hex[:8]


def test_a_rep_fills_a_custom_field_filters_a_report_by_it_and_the_manager_exports_it(admin):
    team = admin.post("/api/v1/teams", json={"name": f"Custom reports {uniq()}"}).json()
    rep = admin.as_new_user(["sales_rep"], team_id=team["id"])
    manager = admin.as_new_user(["sales_manager"], team_id=team["id"])
    channel, seats = f"channel_{uniq()}", f"seats_{uniq()}"
    for body in ({"name": channel, "label": "Channel", "type": "choice", "choices": ["direct", "partner"]},
                 {"name": seats, "label": "Seats", "type": "number"}):
        made = admin.post("/api/v1/custom-fields", json={"resource": "opportunity", **body})
        assert made.status_code == 201, made.text
    tag = uniq()
    for name, custom in ((f"A {tag}", {channel: "partner", seats: 40}), (f"B {tag}", {channel: "direct", seats: 5}),
                         (f"C {tag}", {channel: "partner", seats: 12})):
        made = rep.post("/api/v1/opportunities", json={"name": name, "amount": "100.00", "currency": "EUR",
                                                       "custom_fields": custom})
        assert made.status_code == 201, made.text

    definition = {"name": f"Partner deals {tag}", "source": "opportunities",
                  "columns": ["name", f"custom.{channel}", f"custom.{seats}", "amount"],
                  "filters": {f"custom.{channel}": "partner"}, "sort": f"-custom.{seats}",
                  "shared_team_id": team["id"]}
    made = eventually(lambda: rep.post("/api/v1/reports", json=definition),  # once analytics has the definition
                      until=lambda response: response.status_code == 201)
    assert made.status_code == 201, made.text
    report = made.json()
    ran = eventually(lambda: rep.get(f"/api/v1/reports/{report['id']}/run").json(),
                     until=lambda body: body.get("total") == 2)
    assert [(row["name"], row[f"custom.{channel}"], row[f"custom.{seats}"]) for row in ran["rows"]] == [
        (f"A {tag}", "partner", 40), (f"C {tag}", "partner", 12)]
    assert ran["columns"][2] == {"name": f"custom.{seats}", "type": "integer"}

    grouped = rep.post("/api/v1/reports", json={"name": f"By channel {tag}", "source": "opportunities",
                                                "columns": [f"custom.{channel}", f"custom.{seats}"],
                                                "group_by": f"custom.{channel}", "sort": "key"})
    assert grouped.status_code == 201, grouped.text
    rows = rep.get(f"/api/v1/reports/{grouped.json()['id']}/run").json()["rows"]
    assert rows == [{"key": "direct", "count": 1, f"custom.{seats}": 5},
                    {"key": "partner", "count": 2, f"custom.{seats}": 52}]

    downloaded = manager.get(f"/api/v1/reports/{report['id']}/run", params={"format": "xlsx"})
    assert downloaded.status_code == 200, downloaded.text
    sheet = openpyxl.load_workbook(io.BytesIO(downloaded.content)).active
    assert [c.value for c in sheet[1]] == ["name", f"custom.{channel}", f"custom.{seats}", "amount"]
    assert [c.value for c in sheet[2]] == [f"A {tag}", "partner", 40, 100]
    assert sheet.max_row == 3
    as_csv = manager.get(f"/api/v1/reports/{report['id']}/run", params={"format": "csv"})
    assert list(csv.reader(io.StringIO(as_csv.text)))[1:] == [[f"A {tag}", "partner", "40", "100.00"],
                                                              [f"C {tag}", "partner", "12", "100.00"]]

    unknown = rep.post("/api/v1/reports", json={**definition, "columns": ["name", "custom.no_such_field"]})
    assert unknown.status_code == 422 and "custom.no_such_field" in unknown.json()["errors"]["columns"][0]
    wrong = rep.post("/api/v1/reports", json={**definition, "filters": {f"custom.{channel}": "pigeon"}})
    assert wrong.status_code == 422 and f"custom.{channel}" in wrong.json()["errors"]["filters"][0]
