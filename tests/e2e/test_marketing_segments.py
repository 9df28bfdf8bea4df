"""Segments and consents through the gateway, fed by the other services: a lead created in sales becomes an
audience member of a segment, a ticket opened at the desk is behaviour a segment selects on, a consent is an
attribute; bad rules are a 422 naming the rule, and a role without the permission changes nothing."""
from __future__ import annotations

import uuid

import pytest

from crm_common.testing.waiting import eventually
from tests.e2e.marketing_e2e import created, people_of, problem

pytestmark = pytest.mark.e2e

SEGMENTS, CONSENTS = "/api/v1/segments", "/api/v1/consents"


@pytest.fixture(scope="module")
def people(admin):
    return people_of(admin)


def members(client, segment_id: str, expected: int) -> dict:
    return eventually(lambda: client.get(f"{SEGMENTS}/{segment_id}/members").json(), timeout=30,
                      until=lambda page: page.get("count") == expected)


def test_a_lead_created_in_sales_joins_a_segment_and_its_ticket_is_behaviour(people, admin):
    marketer, analyst = people["marketer"], people["analyst"]
    tag = f"industry-{uuid.uuid4().hex[:8]}"
    email = f"ada-{tag}@segments.example"
    by_industry = {"field": "industry", "op": "eq", "value": tag}
    segment = created(marketer.post(SEGMENTS, json={"name": f"DACH {tag}", "description": "a test", "rules": {
        "all": [by_industry, {"field": "country", "op": "in", "value": ["DE", "AT"]}]}}))
    assert segment["member_count"] == 0 and segment["owner_id"] == marketer.user["id"]
    tagged = created(marketer.post(SEGMENTS, json={"name": f"all {tag}", "rules": {"all": [by_industry]}}))
    lead = created(admin.post("/api/v1/leads", json={"first_name": "Ada", "last_name": "Lovelace", "email": email,
                                                     "company": f"Engines {tag}", "country": "DE", "industry": tag}))
    created(admin.post("/api/v1/leads", json={"last_name": "Elsewhere", "email": f"bo-{tag}@segments.example",
                                              "company": f"Other {tag}", "country": "FR", "industry": tag}))
    members(analyst, tagged["id"], 2)  # both leads in the audience (each lead's event arrives on its own)
    page = members(analyst, segment["id"], 1)
    assert page["count"] == 1 and page["next_cursor"] is None
    member, = page["items"]
    assert (member["kind"], member["source_id"], member["email"], member["country"], member["company"]) == (
        "lead", lead["id"], email, "DE", f"Engines {tag}")
    assert analyst.get(f"{SEGMENTS}/{segment['id']}").json()["member_count"] == 1

    with_ticket = created(marketer.post(SEGMENTS, json={"name": f"tickets {tag}", "rules": {
        "all": [by_industry, {"behaviour": "ticket_opened", "within_days": 7}]}}))
    no_ticket = created(marketer.post(SEGMENTS, json={"name": f"calm {tag}", "rules": {
        "all": [by_industry, {"behaviour": "no_open_ticket"}]}}))
    assert (with_ticket["member_count"], no_ticket["member_count"]) == (0, 2)
    created(admin.post("/api/v1/tickets", json={"subject": "It broke", "requester_email": email.upper()}))
    assert [m["email"] for m in members(marketer, with_ticket["id"], 1)["items"]] == [email]
    assert [m["email"] for m in members(marketer, no_ticket["id"], 1)["items"]] == [f"bo-{tag}@segments.example"]


def test_a_consent_is_recorded_once_per_address_and_channel_and_segments_read_it(people):
    marketer, analyst = people["marketer"], people["analyst"]
    email = f"c-{uuid.uuid4().hex[:8]}@consents.example"
    given = created(marketer.post(CONSENTS, json={"email": email.upper(), "channel": "email", "status": "opted_in",
                                                  "source": "event booth", "ip": "192.0.2.7", "text_version": "v2"}))
    assert (given["email"], given["status"], given["ip"], given["version"]) == (email, "opted_in", "192.0.2.7", 1)
    again = marketer.post(CONSENTS, json={"email": email, "channel": "email", "status": "opted_out"})
    assert again.status_code == 201 and again.json()["id"] == given["id"] and again.json()["version"] == 2
    assert analyst.get(f"{CONSENTS}/{given['id']}").json()["status"] == "opted_out"
    listed = analyst.get(CONSENTS, params={"email": email, "channel": "email"}).json()["items"]
    assert [c["id"] for c in listed] == [given["id"]]
    patched = marketer.patch(f"{CONSENTS}/{given['id']}", json={"status": "opted_in", "source": "phone"},
                             headers={"If-Match": '"2"'})
    assert patched.status_code == 200, patched.text
    assert patched.json()["status"] == "opted_in" and patched.headers["ETag"] == '"3"'
    assert problem(marketer.patch(f"{CONSENTS}/{given['id']}", json={"status": "opted_out"},
                                  headers={"If-Match": '"2"'}), 412)
    bad = problem(marketer.post(CONSENTS, json={"email": "nope", "channel": "fax", "status": "maybe", "ip": "1.2"}), 422)
    assert set(bad["errors"]) == {"email", "channel", "status", "ip"}


def test_a_bad_rule_is_a_422_naming_it_and_writes_nothing(people):
    marketer = people["marketer"]
    name = f"bad {uuid.uuid4().hex[:8]}"
    bad = problem(marketer.post(SEGMENTS, json={"name": name, "rules": {"all": [
        {"field": "grade", "op": "gt", "value": "A"}, {"behaviour": "clicked", "within_days": "30"}, {"any": []}]}}),
        422)
    assert set(bad["errors"]) == {"rules.all.0.op", "rules.all.1.within_days", "rules.all.2.any"}
    assert "rules" in problem(marketer.post(SEGMENTS, json={"name": name, "rules": []}), 422)["errors"]
    assert "rules" in problem(marketer.post(SEGMENTS, json={"name": name}), 422)["errors"]
    assert marketer.get(SEGMENTS, params={"q": name}).json()["items"] == []
    segment = created(marketer.post(SEGMENTS, json={"name": name, "rules": {"any": [
        {"field": "grade", "op": "eq", "value": "A"}]}}))
    problem(marketer.patch(f"{SEGMENTS}/{segment['id']}", json={"rules": {"all": [{"field": "x"}]}}), 422)
    assert marketer.get(f"{SEGMENTS}/{segment['id']}").json()["version"] == 1


def test_a_role_without_the_permission_changes_nothing(people):
    marketer, analyst, rep = people["marketer"], people["analyst"], people["sales_rep"]
    name = f"guarded {uuid.uuid4().hex[:8]}"
    rules = {"all": [{"field": "grade", "op": "eq", "value": "A"}]}
    segment = created(marketer.post(SEGMENTS, json={"name": name, "rules": rules}))
    problem(rep.post(SEGMENTS, json={"name": name, "rules": rules}), 403)
    problem(rep.get(SEGMENTS), 403)
    problem(rep.get(f"{SEGMENTS}/{segment['id']}/members"), 403)
    problem(analyst.patch(f"{SEGMENTS}/{segment['id']}", json={"name": "mine"}), 403)
    problem(analyst.delete(f"{SEGMENTS}/{segment['id']}"), 403)
    problem(analyst.post(CONSENTS, json={"email": "x@guard.example", "channel": "email", "status": "opted_in"}), 403)
    problem(rep.get(CONSENTS), 403)
    found = marketer.get(SEGMENTS, params={"q": name}).json()["items"]
    assert [(s["id"], s["name"], s["version"]) for s in found] == [(segment["id"], name, 1)]
    assert marketer.get(CONSENTS, params={"email": "x@guard.example"}).json()["items"] == []
    listed = marketer.get(SEGMENTS, params={"q": name, "counts": "true"}).json()["items"]
    assert listed[0]["member_count"] is not None
    assert marketer.delete(f"{SEGMENTS}/{segment['id']}").status_code == 204
    assert marketer.get(f"{SEGMENTS}/{segment['id']}").status_code == 404


def test_a_tag_given_in_sales_selects_the_lead_in_a_segment(people, admin):
    marketer = people["marketer"]
    tag = f"expo-{uuid.uuid4().hex[:8]}"
    segment = created(marketer.post(SEGMENTS, json={"name": f"tagged {tag}", "rules": {
        "all": [{"field": "tags", "op": "contains", "value": tag}]}}))
    lead = created(admin.post("/api/v1/leads", json={"last_name": "Tagged", "company": f"Tags {tag}",
                                                     "email": f"t-{tag}@segments.example", "tags": [tag]}))
    created(admin.post("/api/v1/leads", json={"last_name": "Untagged", "company": f"No tags {tag}",
                                              "email": f"u-{tag}@segments.example"}))
    assert [m["source_id"] for m in members(marketer, segment["id"], 1)["items"]] == [lead["id"]]
    untagged = admin.patch(f"/api/v1/leads/{lead['id']}", json={"tags": []},
                           headers={"If-Match": f'"{lead["version"]}"'})
    assert untagged.status_code == 200, untagged.text
    assert members(marketer, segment["id"], 0)["items"] == []
