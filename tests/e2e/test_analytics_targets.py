"""The analytics forecast against the targets sales set, through the gateway: a manager sets a rep's target
(`POST /targets`), the rep wins a deal, and `GET /analytics/forecast` shows the target and the attainment
within seconds; a changed target moves it."""
from __future__ import annotations

import uuid
from datetime import date

import pytest

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e


def test_the_forecast_reads_the_targets_sales_set(admin):
    team = admin.post("/api/v1/teams", json={"name": f"Targets {uuid.uuid4().hex[:8]}"}).json()
    rep = admin.as_new_user(["sales_rep"], team_id=team["id"])
    manager = admin.as_new_user(["sales_manager"], team_id=team["id"])
    year = date.today().year
    won = rep.post("/api/v1/opportunities", json={"name": "Won", "amount": "3000.00", "currency": "EUR",
                                                  "expected_close_date": f"{year}-12-15"}).json()
    assert rep.patch(f"/api/v1/opportunities/{won['id']}", json={"stage": "closed_won"}).status_code == 200
    target = manager.post("/api/v1/targets", json={"period": str(year), "user_id": rep.user["id"],
                                                   "amount": "12000.00", "currency": "EUR"})
    assert target.status_code == 201, target.text
    params = {"from": f"{year}-01-01", "to": f"{year}-12-31", "group_by": "owner", "owner_id": rep.user["id"]}

    def mine(client):
        answer = client.get("/api/v1/analytics/forecast", params=params)
        assert answer.status_code == 200, answer.text
        return next((i for i in answer.json()["items"] if i["key"] == rep.user["id"]), {})

    row = eventually(lambda: mine(manager), timeout=20, until=lambda r: r.get("attainment") == "25.0")
    assert (row["closed_won"], row["target"], row["attainment"]) == ("3000.00", "12000.00", "25.0")
    changed = manager.patch(f"/api/v1/targets/{target.json()['id']}", json={"amount": "6000.00"})
    assert changed.status_code == 200, changed.text
    row = eventually(lambda: mine(manager), timeout=20, until=lambda r: r.get("target") == "6000.00")
    assert row["attainment"] == "50.0"
