"""Accounts to contracts, calendar and forecast through the gateway, as a new user would."""
from __future__ import annotations

import io
import uuid
from datetime import date, timedelta

import pytest

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e


def uniq() -> str:
    return uuid.uuid4().hex[:8]




@pytest.fixture(scope="module")
def people(admin):
    team = admin.post("/api/v1/teams", json={"name": f"Deals {uniq()}"}).json()
    clients = {name: admin.as_new_user([role], team_id=team["id"])
               for name, role in (("manager", "sales_manager"), ("rep", "sales_rep"), ("rep2", "sales_rep"))}
    clients["other"] = admin.as_new_user(["sales_rep"])
    return clients


def test_accounts_contacts_and_merge_keep_history(people):
    rep = people["rep"]
    keep = rep.post("/api/v1/accounts", json={"name": f"Acme {uniq()}", "country": "DE", "industry": "retail"}).json()
    assert (keep["grade"], keep["lifecycle_stage"]) == ("C", "prospect")
    dup = rep.post("/api/v1/accounts", json={"name": "ACME GmbH", "website": "acme.example"}).json()
    child = rep.post("/api/v1/accounts", json={"name": "Acme Sub", "parent_id": keep["id"]})
    assert child.status_code == 201 and child.json()["parent_id"] == keep["id"]
    person = rep.post("/api/v1/contacts", json={"account_id": dup["id"], "last_name": "Doe",
                                                "phone": "030 1234567", "country": "DE"})
    assert person.status_code == 201 and person.json()["phone"] == "+49301234567"
    assert rep.post("/api/v1/contacts", json={"last_name": "X", "email": "bad"}).status_code == 422
    merged = rep.post(f"/api/v1/accounts/{keep['id']}/merge", json={"merge_ids": [dup["id"]]})
    assert merged.status_code == 200 and merged.json()["website"] == "acme.example"
    assert rep.get(f"/api/v1/contacts/{person.json()['id']}").json()["account_id"] == keep["id"]
    assert rep.get(f"/api/v1/accounts/{dup['id']}").status_code == 404
    assert people["other"].get(f"/api/v1/accounts/{keep['id']}").status_code == 404
    listed = rep.get("/api/v1/contacts", params={"account_id": keep["id"]}).json()["items"]
    assert [x["id"] for x in listed] == [person.json()["id"]]


def test_opportunity_stages_history_and_lost_reason(people):
    rep = people["rep"]
    opp = rep.post("/api/v1/opportunities", json={"name": "Big deal", "amount": "12500.00", "currency": "EUR",
                                                  "expected_close_date": "2026-11-30"}).json()
    assert (opp["stage"], opp["probability"], opp["amount"]) == ("prospecting", 10, "12500.00")
    moved = rep.patch(f"/api/v1/opportunities/{opp['id']}", json={"stage": "negotiation"},
                      headers={"If-Match": f'"{opp["version"]}"'})
    assert moved.status_code == 200 and moved.json()["probability"] == 75
    lost = rep.patch(f"/api/v1/opportunities/{opp['id']}", json={"stage": "closed_lost"})
    assert lost.status_code == 422 and "lost_reason" in lost.json()["errors"]
    lost = rep.patch(f"/api/v1/opportunities/{opp['id']}", json={"stage": "closed_lost", "lost_reason": "budget"})
    assert lost.status_code == 200 and lost.json()["closed_at"]
    history = rep.get(f"/api/v1/opportunities/{opp['id']}/history").json()["items"]
    assert [(h["stage"], h["probability"]) for h in history] == [("prospecting", 10), ("negotiation", 75),
                                                                 ("closed_lost", 0)]
    assert all(h["changed_by"] == rep.user["id"] and h["changed_at"].endswith("Z") for h in history)
    assert rep.patch(f"/api/v1/opportunities/{opp['id']}", json={"amount": 5.5}).status_code in (200, 422)


def test_quote_approval_order_contract_and_document(admin, people):
    rep, manager = people["rep"], people["manager"]
    sku = f"SKU-{uniq()}"
    product = admin.post("/api/v1/products", json={"name": "Widget", "sku": sku, "unit_price": "100.00",
                                                   "currency": "EUR"})
    assert product.status_code == 201, product.text
    assert admin.post("/api/v1/products", json={"name": "W", "sku": sku, "unit_price": "1.00",
                                                "currency": "EUR"}).status_code == 409
    account = rep.post("/api/v1/accounts", json={"name": f"Buyer {uniq()}", "city": "Berlin"}).json()
    limit = float(admin.get("/api/v1/sales-settings").json()["discount_approval_percent"])
    quote = rep.post("/api/v1/quotes", json={"account_id": account["id"], "currency": "EUR", "tax_percent": "19",
                                             "lines": [{"product_id": product.json()["id"], "quantity": "3",
                                                        "discount_percent": str(limit + 5)},
                                                       {"description": "Setup", "quantity": "1",
                                                        "unit_price": "19.99"}]})
    assert quote.status_code == 201, quote.text
    q = quote.json()
    assert q["needs_approval"] is True and q["lines"][1]["line_total"] == "19.99"
    assert rep.post(f"/api/v1/quotes/{q['id']}/send").status_code == 409
    assert rep.post(f"/api/v1/quotes/{q['id']}/approve").status_code == 403
    assert manager.post(f"/api/v1/quotes/{q['id']}/approve").status_code == 200
    sent = rep.post(f"/api/v1/quotes/{q['id']}/send")
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    accepted = rep.post(f"/api/v1/quotes/{q['id']}/accept")
    assert accepted.status_code == 201, accepted.text
    order = accepted.json()
    assert order["total"] == q["total"] and order["status"] == "placed"
    assert rep.post(f"/api/v1/quotes/{q['id']}/accept").status_code == 409
    assert rep.get(f"/api/v1/accounts/{account['id']}").json()["lifecycle_stage"] == "first_purchase"
    shipped = rep.patch(f"/api/v1/orders/{order['id']}", json={"status": "shipped"})
    assert shipped.status_code == 409
    assert rep.patch(f"/api/v1/orders/{order['id']}", json={"status": "confirmed"}).status_code == 200

    today = date.today()
    contract = rep.post("/api/v1/contracts", json={"order_id": order["id"], "starts_on": today.isoformat(),
                                                   "ends_on": (today + timedelta(days=365)).isoformat(),
                                                   "terms": "Payment within 30 days."})
    assert contract.status_code == 201, contract.text
    signed = rep.patch(f"/api/v1/contracts/{contract.json()['id']}", json={"status": "signed"})
    assert signed.status_code == 200 and signed.json()["status"] == "active"
    document = rep.get(f"/api/v1/contracts/{contract.json()['id']}/document")
    assert document.status_code == 200
    assert document.headers["Content-Type"] == ("application/vnd.openxmlformats-officedocument."
                                                "wordprocessingml.document")
    from docx import Document
    doc = Document(io.BytesIO(document.content))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert account["name"] in text and "Payment within 30 days." in text and q["total"] in text
    assert people["other"].get(f"/api/v1/contracts/{contract.json()['id']}/document").status_code == 404


def test_meetings_conflict_calendar_and_call_lists(people):
    rep, rep2 = people["rep"], people["rep2"]
    start = "2027-03-01T09:00:00Z"
    first = rep.post("/api/v1/activities", json={"type": "meeting", "subject": "Kick-off", "starts_at": start,
                                                 "ends_at": "2027-03-01T10:00:00Z",
                                                 "participant_ids": [rep2.user["id"]]})
    assert first.status_code == 201, first.text
    clash = rep2.post("/api/v1/activities", json={"type": "meeting", "subject": "Other", "starts_at":
                                                  "2027-03-01T09:30:00Z", "ends_at": "2027-03-01T10:30:00Z"})
    assert clash.status_code == 409 and clash.json()["conflicts"][0]["id"] == first.json()["id"]
    forced = rep2.post("/api/v1/activities", json={"type": "meeting", "subject": "Other", "allow_conflict": True,
                                                   "starts_at": "2027-03-01T09:30:00Z",
                                                   "ends_at": "2027-03-01T10:30:00Z"})
    assert forced.status_code == 201
    calendar = rep2.get("/api/v1/calendar", params={"from": "2027-03-01T00:00:00Z", "to": "2027-03-02T00:00:00Z"})
    assert calendar.status_code == 200, calendar.text
    assert sorted(a["subject"] for a in calendar.json()["items"]) == ["Kick-off", "Other"]
    assert rep.get("/api/v1/calendar", params={"from": "2027-03-01T00:00:00Z", "to": "2027-03-02T00:00:00Z",
                                               "user_id": rep2.user["id"]}).status_code == 404
    team_view = people["manager"].get("/api/v1/calendar", params={
        "from": "2027-03-01T00:00:00Z", "to": "2027-03-02T00:00:00Z", "team_id": people["manager"].user["team_id"]})
    assert team_view.status_code == 200 and len(team_view.json()["items"]) == 2

    account = rep.post("/api/v1/accounts", json={"name": f"Callees {uniq()}"}).json()
    ok = rep.post("/api/v1/contacts", json={"account_id": account["id"], "last_name": "Ok",
                                            "phone": "+49301234567"}).json()
    rep.post("/api/v1/contacts", json={"account_id": account["id"], "last_name": "Never", "phone": "+49301234568",
                                       "do_not_call": True})
    call_list = rep.post("/api/v1/call-lists", json={"name": "Spring", "account_id": account["id"]})
    assert call_list.status_code == 201, call_list.text
    assert [x["contact_id"] for x in call_list.json()["items"]] == [ok["id"]]
    assert call_list.json()["skipped"][0]["reason"] == "do_not_call"
    logged = rep.post(f"/api/v1/call-lists/{call_list.json()['id']}/calls", json={
        "contact_id": ok["id"], "outcome": "callback_requested", "duration_seconds": 60,
        "callback_at": "2027-03-02T15:00:00Z"})
    assert logged.status_code == 200 and logged.json()["items"][0]["outcome"] == "callback_requested"
    calls = rep.get("/api/v1/activities", params={"contact_id": ok["id"], "type": "call"}).json()["items"]
    assert {(a["status"], a["outcome"]) for a in calls} == {("done", "callback_requested"), ("open", None)}


def test_targets_forecast_commissions_and_expenses(admin, people):
    rep, manager = people["rep2"], people["manager"]
    deal = rep.post("/api/v1/opportunities", json={"name": "Q4", "amount": "4000.00", "currency": "USD",
                                                   "expected_close_date": f"{date.today().year}-12-15"}).json()
    rep.patch(f"/api/v1/opportunities/{deal['id']}", json={"stage": "closed_won"})
    open_deal = rep.post("/api/v1/opportunities", json={"name": "Next", "amount": "1000.00", "currency": "USD",
                                                        "stage": "proposal",
                                                        "expected_close_date": f"{date.today().year}-12-20"})
    assert open_deal.status_code == 201
    period = str(date.today().year)
    target = manager.post("/api/v1/targets", json={"period": period, "user_id": rep.user["id"], "amount": "8000.00",
                                                   "currency": "USD"})
    assert target.status_code == 201, target.text
    assert rep.post("/api/v1/targets", json={"period": period, "user_id": rep.user["id"], "amount": "1.00",
                                             "currency": "USD"}).status_code == 403
    forecast = manager.get("/api/v1/forecast", params={"period": period, "group_by": "owner", "currency": "USD"})
    assert forecast.status_code == 200, forecast.text
    row = next(g for g in forecast.json()["groups"] if g["key"] == rep.user["id"])
    assert (row["closed_won"], row["pipeline"], row["weighted"], row["target"], row["attainment"]) == (
        "4000.00", "1000.00", "500.00", "8000.00", "50.00")
    assert manager.get("/api/v1/forecast", params={"period": "2026-Q5"}).status_code == 422
    commissions = manager.get("/api/v1/commissions", params={"period": period, "currency": "USD"}).json()["items"]
    assert next(x for x in commissions if x["owner_id"] == rep.user["id"])["commission"] == "200.00"

    claim = rep.post("/api/v1/expenses", json={"amount": "42.50", "currency": "EUR", "category": "meals",
                                               "incurred_on": date.today().isoformat()})
    assert claim.status_code == 201 and claim.json()["status"] == "submitted"
    assert rep.post(f"/api/v1/expenses/{claim.json()['id']}/approve", json={}).status_code == 403
    approved = manager.post(f"/api/v1/expenses/{claim.json()['id']}/approve", json={"note": "fine"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"


def test_privacy_export_and_erasure_include_the_sales_part(admin, people):
    email = f"subject-{uniq()}@privacy.example"
    rep = people["rep"]
    lead = rep.post("/api/v1/leads", json={"first_name": "Pat", "last_name": "Doe", "email": email}).json()
    exported = admin.post("/api/v1/privacy/export-requests", json={"email": email})
    assert exported.status_code == 202, exported.text

    def part(request_id):
        response = admin.get(f"/api/v1/privacy/requests/{request_id}")
        if response.status_code != 200:  # e.g. rate limited while polling: ask again
            return None
        sales = (response.json().get("parts") or {}).get("sales") or {}
        return sales if sales.get("status") in ("done", "failed") else None

    # identity marks the part done when it consumes our event, behind the other events in its queue
    sales_part = eventually(lambda: part(exported.json()["id"]), 30)
    assert sales_part and sales_part["status"] == "done", admin.get(
        f"/api/v1/privacy/requests/{exported.json()['id']}").text
    assert sales_part["data"]["leads"][0]["id"] == lead["id"]
    erased = admin.post("/api/v1/privacy/erasure-requests", json={"email": email})
    erased_part = eventually(lambda: part(erased.json()["id"]), 30)
    assert erased_part and erased_part["status"] == "done" and erased_part["counts"]["leads"] == 1
    after = rep.get(f"/api/v1/leads/{lead['id']}").json()
    assert (after["email"], after["first_name"]) == (None, None)
