"""Partners through the gateway: a partner user registers a deal, a channel manager approves it, it is won, and the
partner's statement shows the right share (json and xlsx); another partner's records are a 404."""
from __future__ import annotations

import io
import uuid
from datetime import datetime, timezone

import pytest

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e


def uniq() -> str:
    return uuid.uuid4().hex[:8]


def quarter() -> str:
    today = datetime.now(timezone.utc).date()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


@pytest.fixture
def channel(admin):
    cm = admin.as_new_user(["channel_manager"])
    first = cm.post("/api/v1/partners", json={"name": f"Reseller {uniq()}", "email": f"p-{uniq()}@example.com"})
    assert first.status_code == 201, first.text
    second = cm.post("/api/v1/partners", json={"name": f"Rival {uniq()}"}).json()
    mine = admin.as_new_user(["partner"], partner_id=first.json()["id"])
    theirs = admin.as_new_user(["partner"], partner_id=second["id"])
    return {"cm": cm, "partner": first.json(), "rival": second, "mine": mine, "theirs": theirs}


def test_partner_id_belongs_to_partner_users_only(admin):
    refused = admin.post("/api/v1/users", json={"email": f"x-{uniq()}@crm.test", "full_name": "Not a partner",
                                                "password": "Str0ng-Passw0rd-42!", "roles": ["sales_rep"],
                                                "partner_id": str(uuid.uuid4())})
    assert refused.status_code == 422 and "partner_id" in refused.json()["errors"]


def test_register_approve_win_and_the_statement_shows_the_share(admin, channel):
    cm, partner, mine, theirs = channel["cm"], channel["partner"], channel["mine"], channel["theirs"]
    assert mine.get("/api/v1/me").json()["partner_id"] == partner["id"]
    assert [p["id"] for p in mine.get("/api/v1/partners").json()["items"]] == [partner["id"]]
    assert mine.get(f"/api/v1/partners/{channel['rival']['id']}").status_code == 404

    # gold needs two valid certifications
    assert cm.patch(f"/api/v1/partners/{partner['id']}", json={"tier": "gold"}).status_code == 422
    for name in ("Sales certified", "Tech certified"):
        added = cm.post(f"/api/v1/partners/{partner['id']}/trainings",
                        json={"kind": "certification", "name": name, "completed_on": "2026-01-15"})
        assert added.status_code == 201, added.text
    gold = cm.patch(f"/api/v1/partners/{partner['id']}", json={"tier": "gold"})
    assert gold.status_code == 200 and gold.json()["tier"] == "gold"
    assert cm.put("/api/v1/partner-share-rates", json={"tier": "gold", "percent": "12.50"}).status_code == 200
    assert mine.put("/api/v1/partner-share-rates", json={"tier": "gold", "percent": "99.00"}).status_code == 403

    account_name = f"Initech {uniq()}"
    registered = mine.post("/api/v1/deal-registrations", json={
        "account_name": account_name, "opportunity_name": "Initech CRM", "amount": "12345.67", "currency": "EUR",
        "expected_close_date": "2026-12-20"})
    assert registered.status_code == 201, registered.text
    reg = registered.json()
    assert (reg["status"], reg["partner_id"], reg["conflict"]) == ("pending", partner["id"], False)
    assert theirs.get(f"/api/v1/deal-registrations/{reg['id']}").status_code == 404
    assert mine.post(f"/api/v1/deal-registrations/{reg['id']}/approve", json={}).status_code == 403
    assert theirs.get("/api/v1/deal-registrations").json()["items"] == [] or all(
        r["partner_id"] != partner["id"] for r in theirs.get("/api/v1/deal-registrations").json()["items"])

    approved = cm.post(f"/api/v1/deal-registrations/{reg['id']}/approve", json={"note": "welcome"})
    assert approved.status_code == 200, approved.text
    opportunity_id = approved.json()["opportunity_id"]
    assert cm.post(f"/api/v1/deal-registrations/{reg['id']}/reject", json={}).status_code == 409
    won = cm.patch(f"/api/v1/opportunities/{opportunity_id}", json={"stage": "closed_won"})
    assert won.status_code == 200, won.text
    assert mine.get(f"/api/v1/deal-registrations/{reg['id']}").json()["opportunity_stage"] == "closed_won"

    clash = theirs.post("/api/v1/deal-registrations", json={"account_name": account_name,
                                                             "opportunity_name": "Poaching", "amount": "1.00",
                                                             "currency": "EUR"}).json()
    assert clash["conflict"] is True and {"account", "registration"} <= {x["kind"] for x in clash["conflicts"]}

    product = admin.post("/api/v1/products", json={"name": "Widget", "sku": f"W-{uniq()}", "unit_price": "50.00",
                                                   "currency": "EUR"}).json()
    ordered = mine.post(f"/api/v1/partners/{partner['id']}/orders",
                        json={"currency": "EUR", "lines": [{"product_id": product["id"], "quantity": "2"}]})
    assert ordered.status_code == 201, ordered.text
    assert theirs.post(f"/api/v1/partners/{partner['id']}/orders",
                       json={"currency": "EUR", "lines": [{"product_id": product["id"], "quantity": "1"}]}
                       ).status_code == 404

    statement = mine.get(f"/api/v1/partners/{partner['id']}/statements", params={"period": quarter()})
    assert statement.status_code == 200, statement.text
    body = statement.json()
    # 12345.67 x 12.50% = 1543.20875 -> 1543.21; the order 100.00 x 12.50% = 12.50
    assert [(x["source"], x["amount"], x["share"]) for x in body["lines"]] == [
        ("deal", "12345.67", "1543.21"), ("order", "100.00", "12.50")]
    assert body["totals"] == [{"currency": "EUR", "amount": "12445.67", "share": "1555.71"}]
    assert theirs.get(f"/api/v1/partners/{partner['id']}/statements",
                      params={"period": quarter()}).status_code == 404
    bad = mine.get(f"/api/v1/partners/{partner['id']}/statements", params={"period": "someday"})
    assert bad.status_code == 422 and "period" in bad.json()["errors"]

    workbook = mine.get(f"/api/v1/partners/{partner['id']}/statements", params={"period": quarter(),
                                                                               "format": "xlsx"})
    assert workbook.status_code == 200
    assert workbook.headers["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    from openpyxl import load_workbook
    rows = list(load_workbook(io.BytesIO(workbook.content)).active.iter_rows(values_only=True))
    assert ("Total", None, None, None, None, 12445.67, None, 1555.71, "EUR", None) in rows

    entries = eventually(lambda: admin.get("/api/v1/audit", params={"entity_type": "deal_registration",
                                                                     "entity_id": reg["id"]}).json()["items"],
                         until=lambda items: {"create", "update"} <= {e["action"] for e in items})
    assert {e["actor_id"] for e in entries} == {mine.user["id"], cm.user["id"]}


def test_leads_of_a_territory_go_to_its_partners(admin, channel):
    cm = channel["cm"]
    admin.post("/api/v1/territories", json={"name": f"Nordics {uniq()}", "countries": ["IS"]})
    lead = admin.post("/api/v1/leads", json={"last_name": "Viking", "company": f"Fjord {uniq()}", "country": "IS"})
    assert lead.status_code == 201, lead.text
    territory_id = lead.json()["territory_id"]
    assert territory_id, "the lead's country gives its territory"
    local = cm.post("/api/v1/partners", json={"name": f"Local {uniq()}", "territory_id": territory_id}).json()
    done = cm.post("/api/v1/partners/lead-distribution", json={"territory_id": territory_id})
    assert done.status_code == 200, done.text
    assert {"lead_id": lead.json()["id"], "partner_id": local["id"]} in done.json()["items"]
    given = cm.get(f"/api/v1/partners/{local['id']}/leads").json()["items"]
    assert lead.json()["id"] in [x["id"] for x in given]


def test_a_partners_manager_creates_their_partners_users_only(admin, channel, suite):
    password = "Str0ng-Passw0rd-42!"
    boss = admin.as_new_user(["partner", "partner_manager"], partner_id=channel["partner"]["id"])
    made = boss.post("/api/v1/partner-users", json={"email": f"pat-{uniq()}@example.com", "full_name": "Pat",
                                                    "password": password})
    assert made.status_code == 201, made.text
    assert (made.json()["roles"], made.json()["partner_id"]) == (["partner"], channel["partner"]["id"])
    pat = suite.login(made.json()["email"], password)
    assert pat.get(f"/api/v1/partners/{channel['partner']['id']}").status_code == 200
    assert pat.get(f"/api/v1/partners/{channel['rival']['id']}").status_code == 404
    spy = f"spy-{uniq()}@example.com"
    other = boss.post("/api/v1/partner-users", json={"email": spy, "full_name": "Spy",
                                                     "password": password, "partner_id": channel["rival"]["id"]})
    assert other.status_code == 403
    assert admin.get("/api/v1/users", params={"email": spy}).json()["items"] == []
    # a plain partner user creates none; the channel manager names any partner
    refused = channel["mine"].post("/api/v1/partner-users", json={"email": f"n-{uniq()}@example.com",
                                                                  "full_name": "N", "password": password})
    assert refused.status_code == 403
    by_cm = channel["cm"].post("/api/v1/partner-users", json={"email": f"r-{uniq()}@example.com", "full_name": "R",
                                                              "password": password,
                                                              "partner_id": channel["rival"]["id"]})
    assert by_cm.status_code == 201 and by_cm.json()["partner_id"] == channel["rival"]["id"]
