"""The customer's whole picture, its timeline and the customer intelligence routes, through the gateway."""
from __future__ import annotations

import io
import uuid

import openpyxl

import pytest

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e
A = "/api/v1/analytics"


def test_an_accounts_picture_and_timeline_as_its_rep_sees_them(admin):
    rep, other = admin.as_new_user(["sales_rep"]), admin.as_new_user(["sales_rep"])
    account = rep.post("/api/v1/accounts", json={"name": f"Picture {uuid.uuid4().hex[:6]}", "country": "DE"}).json()
    for amount in ("100.00", "250.00"):
        made = rep.post("/api/v1/opportunities", json={"name": "Deal", "amount": amount, "currency": "EUR",
                                                       "account_id": account["id"], "expected_close_date": "2026-12-31"})
        assert made.status_code == 201, made.text
    ticket = admin.post("/api/v1/tickets", json={"subject": "Help", "description": "Please", "account_id": account["id"],
                                                 "requester_email": f"p-{uuid.uuid4().hex[:6]}@example.com"})
    assert ticket.status_code == 201, ticket.text
    seen = eventually(lambda: admin.get(f"{A}/customers/{account['id']}"),
                      until=lambda r: r.status_code == 200 and len(r.json()["deals"]) == 2 and len(r.json()["tickets"]) == 1)
    body = seen.json()
    assert body["account"]["name"] == account["name"] and body["totals"]["open_deals"] == 2
    mine = rep.get(f"{A}/customers/{account['id']}").json()
    assert len(mine["deals"]) == 2 and mine["tickets"] == []  # the ticket is not the rep's
    assert other.get(f"{A}/customers/{account['id']}").status_code == 404
    timeline = admin.get(f"{A}/customers/{account['id']}/timeline", params={"limit": 2}).json()
    assert [i["type"] for i in timeline["items"]][0] == "service_desk.ticket_opened.v1"
    assert timeline["next_cursor"] and timeline["items"][0]["at"].endswith("Z")
    rest = admin.get(f"{A}/customers/{account['id']}/timeline", params={"before": timeline["next_cursor"]}).json()
    assert [i["type"] for i in rest["items"]][-1] == "sales.account_created.v1"
    assert admin.get(f"{A}/customers/{uuid.uuid4()}").status_code == 404
    word = admin.get(f"{A}/customers/{account['id']}/profile")
    assert word.status_code == 200 and word.content[:2] == b"PK" and word.headers["Content-Type"].endswith("document")
    sheet = admin.get(f"{A}/customers/{account['id']}/profile", params={"format": "xlsx"})
    assert sheet.status_code == 200 and sheet.headers["Content-Type"].endswith("sheet")
    assert "Deals" in openpyxl.load_workbook(io.BytesIO(sheet.content)).sheetnames
    assert rep.get(f"{A}/customers/{account['id']}/profile").status_code == 403  # a rep exports nothing


def test_intelligence_and_kpis_answer_and_refuse_bad_filters(admin):
    analyst = admin.as_new_user(["analyst"])
    for name in ("rfm", "clv", "churn-risk", "cohorts", "kpis"):
        response = analyst.get(f"{A}/{name}")
        assert response.status_code == 200, (name, response.text)
        assert response.json()["figure"] == name.replace("-", "_")
        assert analyst.get(f"{A}/{name}", params={"group_by": "stage"}).status_code == 422
