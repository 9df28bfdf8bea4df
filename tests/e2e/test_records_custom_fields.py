"""Custom fields through the gateway, as an administrator defines them and a rep uses them: a choice field on
opportunities filled, filtered, sorted and refused when wrong; the definitions owned by sales, documented in
OpenAPI, their changes in the audit trail; a rep may read the definitions but not make them."""
from __future__ import annotations

import uuid

import pytest

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e

DEFS = "/api/v1/custom-fields"


def uniq() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def people(admin):
    team = admin.post("/api/v1/teams", json={"name": f"Custom {uniq()}"}).json()
    return {"rep": admin.as_new_user(["sales_rep"], team_id=team["id"]),
            "other": admin.as_new_user(["sales_rep"]), "agent": admin.as_new_user(["support_agent"])}


def define(admin, **body) -> dict:
    response = admin.post(DEFS, json=body)
    assert response.status_code == 201, response.text
    assert response.headers["Location"].endswith(f"{DEFS}/{response.json()['id']}")
    return response.json()


def test_an_administrator_adds_a_choice_field_a_rep_fills_filters_and_sorts_by_it(admin, people):
    rep = people["rep"]
    channel, seats = f"channel_{uniq()}", f"seats_{uniq()}"
    field = define(admin, resource="opportunity", name=channel, label="Channel", type="choice",
                   choices=["direct", "partner", "online"])
    assert (field["type"], field["choices"], field["required"]) == ("choice", ["direct", "partner", "online"], False)
    define(admin, resource="opportunity", name=seats, label="Seats", type="number")
    listed = rep.get(DEFS, params={"resource": "opportunity"}).json()["items"]
    assert {channel, seats} <= {item["name"] for item in listed}

    def deal(**custom):
        response = rep.post("/api/v1/opportunities", json={"name": f"Deal {uniq()}", "amount": "100.00",
                                                           "currency": "EUR", "custom_fields": custom})
        assert response.status_code == 201, response.text
        return response.json()

    big = deal(**{channel: "partner", seats: 40})
    small = deal(**{channel: "partner", seats: 3})
    other = deal(**{channel: "direct"})
    assert big["custom_fields"] == {channel: "partner", seats: 40}
    assert rep.get(f"/api/v1/opportunities/{big['id']}").json()["custom_fields"] == {channel: "partner", seats: 40}

    wrong = rep.post("/api/v1/opportunities", json={"name": "Bad", "amount": "1.00", "currency": "EUR",
                                                    "custom_fields": {channel: "pigeon", seats: "many"}})
    assert wrong.status_code == 422 and wrong.headers["Content-Type"].startswith("application/problem+json")
    assert {f"custom_fields.{channel}", f"custom_fields.{seats}"} <= set(wrong.json()["errors"])

    found = rep.get("/api/v1/opportunities", params={f"custom.{channel}": "partner", "sort": f"-custom.{seats}"})
    assert found.status_code == 200, found.text
    assert [item["id"] for item in found.json()["items"]] == [big["id"], small["id"]]
    ascending = rep.get("/api/v1/opportunities", params={f"custom.{channel}": "partner", "sort": f"custom.{seats}",
                                                         "limit": 1}).json()
    assert [item["id"] for item in ascending["items"]] == [small["id"]] and ascending["next_cursor"]
    following = rep.get("/api/v1/opportunities", params={f"custom.{channel}": "partner", "sort": f"custom.{seats}",
                                                         "limit": 1, "cursor": ascending["next_cursor"]}).json()
    assert [item["id"] for item in following["items"]] == [big["id"]]
    bad_filter = rep.get("/api/v1/opportunities", params={f"custom.{seats}": "many"})
    assert bad_filter.status_code == 422 and f"custom.{seats}" in bad_filter.json()["errors"]
    unknown = rep.get("/api/v1/opportunities", params={"custom.no_such_field": "x"})
    assert unknown.status_code == 422 and "custom.no_such_field" in unknown.json()["errors"]

    changed = rep.patch(f"/api/v1/opportunities/{other['id']}", json={"custom_fields": {channel: "online"}},
                        headers={"If-Match": f'"{other["version"]}"'})
    assert changed.status_code == 200 and changed.json()["custom_fields"] == {channel: "online"}
    # out of scope: another rep neither sees the deal in a filtered list nor reads it
    assert people["other"].get("/api/v1/opportunities", params={f"custom.{channel}": "partner"}).json()["items"] == []


def test_a_field_on_leads_accounts_and_contacts_needs_no_restart_and_keeps_its_data_when_renamed(admin, people):
    rep = people["rep"]
    name = f"budget_{uniq()}"
    for resource in ("lead", "account", "contact"):
        define(admin, resource=resource, name=name, label="Budget", type="decimal", default="10.00")
    lead = rep.post("/api/v1/leads", json={"last_name": f"Lin {uniq()}", "custom_fields": {name: "1200.50"}}).json()
    account = rep.post("/api/v1/accounts", json={"name": f"Acme {uniq()}"}).json()
    contact = rep.post("/api/v1/contacts", json={"last_name": "Doe", "custom_fields": {name: "7"}}).json()
    assert (lead["custom_fields"], account["custom_fields"], contact["custom_fields"]) == (
        {name: "1200.50"}, {name: "10.00"}, {name: "7"})
    leads = rep.get("/api/v1/leads", params={f"custom.{name}": "1200.5"}).json()["items"]
    assert [item["id"] for item in leads] == [lead["id"]]

    field = rep.get(DEFS, params={"resource": "lead"}).json()["items"]
    field = next(item for item in field if item["name"] == name)
    renamed = admin.patch(f"{DEFS}/{field['id']}", json={"label": "Yearly budget"}, headers={"If-Match": '"1"'})
    assert renamed.status_code == 200 and renamed.json()["label"] == "Yearly budget"
    assert rep.get(f"/api/v1/leads/{lead['id']}").json()["custom_fields"] == {name: "1200.50"}
    assert admin.delete(f"{DEFS}/{field['id']}").status_code == 204
    assert admin.get(f"{DEFS}/{field['id']}").status_code == 404
    trail = eventually(lambda: admin.get("/api/v1/audit", params={"entity_type": "custom_field",
                                                                  "entity_id": field["id"]}).json()["items"],
                       until=lambda items: len(items) == 3)
    assert sorted(item["action"] for item in trail) == ["create", "delete", "update"]


def test_only_an_administrator_defines_fields_and_bad_definitions_are_refused(admin, people):
    rep = people["rep"]
    body = {"resource": "opportunity", "name": f"x_{uniq()}", "label": "X", "type": "text"}
    assert rep.post(DEFS, json=body).status_code == 403
    assert people["agent"].get(DEFS, params={"resource": "opportunity"}).status_code == 200
    no_choices = admin.post(DEFS, json={**body, "type": "choice"})
    assert no_choices.status_code == 422 and "choices" in no_choices.json()["errors"]
    bad_name = admin.post(DEFS, json={**body, "name": "Bad Name"})
    assert bad_name.status_code == 422 and "name" in bad_name.json()["errors"]
    define(admin, **body)
    assert admin.post(DEFS, json=body).status_code == 409


def test_the_document_shows_custom_fields_on_each_resource(admin):
    document = admin.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    for name in ("Opportunity", "Lead", "Account", "Contact"):
        assert "custom_fields" in schemas[name]["properties"], name
    assert "/api/v1/custom-fields" in document["paths"]


def test_a_ticket_field_is_kept_by_the_service_desk(admin, people):
    agent = people["agent"]
    name = f"product_{uniq()}"
    field = define(admin, resource="ticket", name=name, label="Product", type="choice", choices=["printer", "scanner"])
    assert admin.get(f"{DEFS}/{field['id']}").json()["resource"] == "ticket"
    body = {"subject": "Printer on fire", "requester_email": f"ada-{uniq()}@example.com"}
    ticket = agent.post("/api/v1/tickets", json={**body, "custom_fields": {name: "printer"}})
    assert ticket.status_code == 201, ticket.text
    assert ticket.json()["custom_fields"] == {name: "printer"}
    wrong = agent.post("/api/v1/tickets", json={**body, "custom_fields": {name: "fax"}})
    assert wrong.status_code == 422 and f"custom_fields.{name}" in wrong.json()["errors"]
    found = agent.get("/api/v1/tickets", params={f"custom.{name}": "printer"}).json()["items"]
    assert [item["id"] for item in found] == [ticket.json()["id"]]
    assert name not in {item["name"] for item in agent.get(DEFS, params={"resource": "lead"}).json()["items"]}
