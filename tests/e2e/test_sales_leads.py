"""Leads through the gateway, as a new user would: validation, duplicates, scope, status, assignment, conversion,
imports with progress, and the lead a marketing form event makes."""
from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e
COPIES = 6  # copies of one keyed create sent at once




def uniq() -> str:
    return uuid.uuid4().hex[:8]


def lead_body(**fields):
    tag = uniq()
    return {"first_name": "Ada", "last_name": f"Lovelace-{tag}", "company": f"Engines {tag}",
            "email": f"ada-{tag}@engines.example", "phone": None, "country": "GB", **fields}


@pytest.fixture(scope="module")
def sales_team(admin):
    """A team with a manager and two reps, known to the sales service (it learns users from identity's events)."""
    team = admin.post("/api/v1/teams", json={"name": f"Sales {uniq()}"})
    assert team.status_code == 201, team.text
    team_id = team.json()["id"]
    clients = {name: admin.as_new_user([role], team_id=team_id)
               for name, role in (("manager", "sales_manager"), ("rep1", "sales_rep"), ("rep2", "sales_rep"))}
    clients["outsider"] = admin.as_new_user(["sales_rep"])
    clients["team_id"] = team_id
    return clients


def test_create_read_update_with_etag_and_problem_errors(sales_team):
    rep = sales_team["rep1"]
    response = rep.post("/api/v1/leads", json=lead_body(phone="+44 20 7946 0958"))
    assert response.status_code == 201, response.text
    lead = response.json()
    assert response.headers["Location"].endswith(f"/api/v1/leads/{lead['id']}")
    assert response.headers["ETag"] == f'"{lead["version"]}"'
    assert lead["phone"] == "+442079460958" and lead["status"] == "new" and lead["source"] == "api"
    assert lead["owner_id"] == rep.user["id"] and lead["created_at"].endswith("Z")

    bad = rep.post("/api/v1/leads", json=lead_body(email="nope", phone="123"))
    assert bad.status_code == 422 and bad.headers["Content-Type"].startswith("application/problem+json")
    assert set(bad.json()["errors"]) == {"email", "phone"}
    assert rep.post("/api/v1/leads", json=lead_body(colour="blue")).status_code == 422

    stale = rep.patch(f"/api/v1/leads/{lead['id']}", json={"status": "contacted"},
                      headers={"If-Match": f'"{lead["version"] + 1}"'})
    assert stale.status_code == 412
    assert rep.get(f"/api/v1/leads/{lead['id']}").json()["status"] == "new"
    ok = rep.patch(f"/api/v1/leads/{lead['id']}", json={"status": "contacted"},
                   headers={"If-Match": f'"{lead["version"]}"'})
    assert ok.status_code == 200 and ok.json()["status"] == "contacted"
    assert ok.headers["ETag"] == f'"{lead["version"] + 1}"'
    back = rep.patch(f"/api/v1/leads/{lead['id']}", json={"status": "new"})
    assert back.status_code == 409


def test_duplicates_are_409_listing_them_unless_forced(sales_team):
    rep = sales_team["rep1"]
    body = lead_body()
    first = rep.post("/api/v1/leads", json=body).json()
    again = rep.post("/api/v1/leads", json={**body, "first_name": "Augusta"})
    assert again.status_code == 409
    dups = again.json()["duplicates"]
    assert dups[0]["id"] == first["id"] and "email" in dups[0]["matched_on"]
    forced = rep.post("/api/v1/leads", json={**body, "force": True})
    assert forced.status_code == 201 and forced.json()["duplicate_of_id"] == first["id"]


def test_idempotency_key_replays_the_first_create(sales_team):
    rep = sales_team["rep1"]
    key = str(uuid.uuid4())
    body = lead_body()
    one = rep.post("/api/v1/leads", json=body, headers={"Idempotency-Key": key})
    two = rep.post("/api/v1/leads", json=body, headers={"Idempotency-Key": key})
    assert one.status_code == two.status_code == 201 and one.json()["id"] == two.json()["id"]
    listed = rep.get("/api/v1/leads", params={"email": body["email"]}).json()["items"]
    assert [x["id"] for x in listed] == [one.json()["id"]]


def test_repeats_of_a_keyed_create_sent_at_once_all_get_the_first_answer(sales_team):
    """A client that sends its create again before the first answer came (a timeout, a second tab) gets the
    first create's answer on every copy -- not a 409 for a copy that arrived while the first ran -- and one lead.
    Sales settles the copies with the key it keeps with the lead (crm_common.idempotency)."""
    rep = sales_team["rep1"]
    key, body = str(uuid.uuid4()), lead_body()
    clients = [rep.clone(token=rep.token) for _ in range(COPIES)]
    start = threading.Barrier(COPIES)

    def send(client):
        start.wait()
        return client.post("/api/v1/leads", json=body, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(COPIES) as pool:
        answers = list(pool.map(send, clients))
    assert [a.status_code for a in answers] == [201] * COPIES, [a.text for a in answers if a.status_code != 201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") != "true" for a in answers) == 1  # one ran, the rest replayed
    listed = rep.get("/api/v1/leads", params={"email": body["email"]}).json()["items"]
    assert [x["id"] for x in listed] == [answers[0].json()["id"]]


def test_scope_own_team_and_404_outside(sales_team):
    lead = sales_team["rep1"].post("/api/v1/leads", json=lead_body()).json()
    assert sales_team["rep2"].get(f"/api/v1/leads/{lead['id']}").status_code == 404
    assert sales_team["outsider"].get(f"/api/v1/leads/{lead['id']}").status_code == 404
    assert sales_team["outsider"].patch(f"/api/v1/leads/{lead['id']}", json={"score": 5}).status_code == 404
    assert sales_team["manager"].get(f"/api/v1/leads/{lead['id']}").status_code == 200
    mine = sales_team["rep2"].get("/api/v1/leads", params={"limit": 200}).json()["items"]
    assert lead["id"] not in [x["id"] for x in mine]


def test_lists_filter_sort_and_page_with_cursor(sales_team):
    rep = sales_team["rep2"]
    country = "IE"
    made = [rep.post("/api/v1/leads", json=lead_body(country=country, phone=None, score=i * 10)).json()["id"]
            for i in range(3)]
    first = rep.get("/api/v1/leads", params={"country": country, "sort": "-score", "limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = rep.get("/api/v1/leads", params={"country": country, "sort": "-score", "limit": 2,
                                              "cursor": first["next_cursor"]}).json()
    ids = [x["id"] for x in first["items"] + second["items"]]
    assert ids == list(reversed(made)) and second["next_cursor"] is None
    assert rep.get("/api/v1/leads", params={"colour": "x"}).status_code == 422
    assert rep.get("/api/v1/leads", params={"sort": "password"}).status_code == 422


def test_territory_assignment_and_reassignment_when_a_user_is_deactivated(admin, sales_team):
    tag = uniq()
    country = "NZ"
    member1 = admin.create_user(["sales_rep"], team_id=sales_team["team_id"])
    member2 = admin.create_user(["sales_rep"], team_id=sales_team["team_id"])
    territory = admin.post("/api/v1/territories", json={"name": f"NZ {tag}", "countries": [country],
                                                       "member_ids": [member1["id"], member2["id"]]})
    assert territory.status_code == 201, territory.text
    known = lambda: admin.get("/api/v1/leads", params={"limit": 1}).status_code == 200  # noqa: E731
    assert known()
    # marketing creates leads (all scope): they go to the territory's least-loaded member
    marketer = admin.as_new_user(["marketer"])
    owners = []
    for _ in range(2):
        lead = eventually(lambda: _territory_lead(marketer, country), 20)
        owners.append(lead)
    assert {x["owner_id"] for x in owners} == {member1["id"], member2["id"]}
    assert all(x["territory_id"] == territory.json()["id"] for x in owners)

    victim = next(x for x in owners if x["owner_id"] == member1["id"])
    assert admin.delete(f"/api/v1/users/{member1['id']}").status_code in (200, 204)
    moved = eventually(lambda: (lambda x: x if x["owner_id"] != member1["id"] else None)(
        admin.get(f"/api/v1/leads/{victim['id']}").json()), 20)
    assert moved and moved["owner_id"] == member2["id"]
    assert moved["assignment_rule"].startswith("reassigned")


def _territory_lead(marketer, country):
    response = marketer.post("/api/v1/leads", json=lead_body(country=country, phone=None))
    assert response.status_code == 201, response.text
    lead = response.json()
    return lead if lead["owner_id"] and lead["assignment_rule"] == "territory" else None


def test_conversion_creates_account_contact_opportunity_once(sales_team):
    rep = sales_team["rep1"]
    lead = rep.post("/api/v1/leads", json=lead_body()).json()
    converted = rep.post(f"/api/v1/leads/{lead['id']}/convert", json={"create_opportunity": {
        "name": "First deal", "amount": "1999.90", "currency": "EUR", "expected_close_date": "2026-12-31"}})
    assert converted.status_code == 200, converted.text
    result = converted.json()
    assert result["account"]["name"] == lead["company"] and result["contact"]["account_id"] == result["account"]["id"]
    assert result["opportunity"]["amount"] == "1999.90" and result["opportunity"]["probability"] == 10
    assert rep.get(f"/api/v1/accounts/{result['account']['id']}").status_code == 200
    assert rep.get(f"/api/v1/leads/{lead['id']}").json()["status"] == "converted"
    again = rep.post(f"/api/v1/leads/{lead['id']}/convert", json={})
    assert again.status_code == 409


def test_import_runs_as_a_job_with_progress(sales_team, admin):
    rep = sales_team["manager"]
    tag = uniq()
    lines = ["first_name,last_name,company,email,country"]
    lines += [f"P{i},Person{i},Co {tag} {i},p{i}-{tag}@import.example,DE" for i in range(250)]
    lines += [f"Bad,Row,Co,not-an-email,DE", f"Dup,Person0,Other,p0-{tag}@import.example,DE"]
    started = rep.post("/api/v1/leads/imports", json={"csv": "\n".join(lines)})
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["total"] == 252 and job["status"] in ("queued", "running", "done")
    url = started.headers["Location"]
    assert url.endswith(f"/api/v1/leads/imports/{job['id']}")
    done = eventually(lambda: (lambda j: j if j["status"] in ("done", "failed") else None)(
        rep.get(f"/api/v1/leads/imports/{job['id']}").json()), 30)
    assert done["status"] == "done" and done["processed"] == 252
    assert (done["succeeded"], done["failed"]) == (251, 1)
    assert done["errors"][0]["row"] == 251 and "email" in done["errors"][0]["errors"]
    assert done["result"]["linked_duplicates"] == 1
    assert sales_team["outsider"].get(f"/api/v1/leads/imports/{job['id']}").status_code == 404
    # every imported lead is in the audit trail, created by the importer
    [imported] = rep.get("/api/v1/leads", params={"email": f"p7-{tag}@import.example"}).json()["items"]
    entries = eventually(lambda: admin.get("/api/v1/audit", params={"entity_type": "lead", "entity_id": imported["id"]})
                         .json()["items"], 20)
    assert [(e["action"], e["actor_id"], e["event_type"]) for e in entries] == [
        ("create", rep.user["id"], "sales.leads_imported.v1")]
    unknown = rep.post("/api/v1/leads/imports", json={"csv": "name\nx\n"})
    assert unknown.status_code == 422
