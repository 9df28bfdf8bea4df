"""Lead scoring through the gateway: a marketer's rules score a lead created in sales, the score reaches
the lead in sales within seconds, `/leads/{id}/score` explains every point, bad rules are 422s and a role
without the permission changes nothing."""
from __future__ import annotations

import uuid

import pytest

from crm_common.testing.waiting import eventually
from tests.e2e.marketing_e2e import people_of, problem

pytestmark = pytest.mark.e2e

RULES = "/api/v1/scoring-rules"


@pytest.fixture(scope="module")
def people(admin):
    return people_of(admin)


@pytest.fixture(scope="module")
def tag():
    return f"Industry {uuid.uuid4().hex[:8]}"  # only this module's leads match its rules


@pytest.fixture(scope="module")
def rules(people, tag):
    """This module's rules, deleted afterwards (the suite is shared with the other modules)."""
    marketer = people["marketer"]
    made = [add(marketer, name=f"{tag} fits", kind="attribute", points=30,
                condition={"field": "industry", "op": "eq", "value": tag.upper()}),
            add(marketer, name=f"{tag} leader", kind="attribute", points=15,
                condition={"all": [{"field": "industry", "op": "eq", "value": tag},
                                   {"field": "country", "op": "in", "value": ["SE", "NO"]}]}),
            add(marketer, name=f"{tag} forms", kind="behaviour", points=10, decay_days=30, max_occurrences=2,
                condition={"behaviour": "form_submitted"})]
    yield made
    for rule in made:
        marketer.delete(f"{RULES}/{rule['id']}")


def add(client, **body):
    response = client.post(RULES, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def new_lead(client, **body) -> dict:
    response = client.post("/api/v1/leads", json={"last_name": f"Lead {uuid.uuid4().hex[:6]}", "force": True, **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_rule_is_written_read_back_and_listed(people, rules, tag):
    marketer, analyst = people["marketer"], people["analyst"]
    fits = rules[0]
    assert (fits["kind"], fits["points"], fits["active"], fits["decay_days"]) == ("attribute", 30, True, None)
    assert fits["created_by"] == marketer.user["id"] and fits["version"] == 1
    got = analyst.get(f"{RULES}/{fits['id']}")
    assert got.status_code == 200 and got.json() == fits and got.headers["ETag"] == '"1"'
    listed = analyst.get(RULES, params={"q": tag, "kind": "behaviour"}).json()["items"]
    assert [r["id"] for r in listed] == [rules[2]["id"]]


def test_a_lead_created_in_sales_gets_its_score_and_the_explanation_sums_to_it(people, admin, rules, tag):
    marketer = people["marketer"]
    lead = new_lead(admin, industry=tag, country="SE", score=5)
    got = eventually(lambda: admin.get(f"/api/v1/leads/{lead['id']}").json(), timeout=20,
                     until=lambda found: found.get("score") == 45)
    assert got["version"] > lead["version"]
    explained = marketer.get(f"/api/v1/leads/{lead['id']}/score")
    assert explained.status_code == 200, explained.text
    body = explained.json()
    assert (body["lead_id"], body["score"], body["sent_to_sales"]) == (lead["id"], 45, True)
    assert body["computed_at"].endswith("Z")
    assert sorted((p["rule_id"], p["points"]) for p in body["points"]) == sorted(
        [(rules[0]["id"], 30), (rules[1]["id"], 15)])
    assert sum(p["points"] for p in body["points"]) == body["score"]
    assert {p["rule"] for p in body["points"]} == {rules[0]["name"], rules[1]["name"]}

    # the lead changes in sales: marketing rescores it and the score follows
    moved = admin.patch(f"/api/v1/leads/{lead['id']}", json={"country": "DE"},
                        headers={"If-Match": f'"{got["version"]}"'})
    assert moved.status_code == 200, moved.text
    eventually(lambda: admin.get(f"/api/v1/leads/{lead['id']}").json()["score"], timeout=20,
               until=lambda score: score == 30)
    assert [p["points"] for p in people["analyst"].get(f"/api/v1/leads/{lead['id']}/score").json()["points"]] == [30]


def test_a_lead_no_rule_applies_to_keeps_the_score_set_in_sales(people, admin, rules, tag):
    other = new_lead(admin, industry=f"not {tag}", score=55)
    fits = new_lead(admin, industry=tag, score=5)  # scored after the other, on the same queue
    eventually(lambda: admin.get(f"/api/v1/leads/{fits['id']}").json()["score"], timeout=20,
               until=lambda score: score == 30)
    explained = eventually(lambda: people["marketer"].get(f"/api/v1/leads/{other['id']}/score"), timeout=20,
                           until=lambda response: response.status_code == 200).json()
    assert (explained["score"], explained["points"], explained["sent_to_sales"]) == (0, [], False)
    assert admin.get(f"/api/v1/leads/{other['id']}").json()["score"] == 55


def test_bad_rules_are_422_problems_naming_the_fields(people):
    marketer = people["marketer"]
    rule = {"name": "Bad", "kind": "attribute", "points": 5, "condition": {"field": "country", "op": "exists"}}
    bad = problem(marketer.post(RULES, json={**rule, "points": 101, "kind": "mood", "colour": "red"}), 422)
    assert set(bad["errors"]) == {"points", "kind", "colour"}
    wrong = problem(marketer.post(RULES, json={**rule, "condition": {"field": "salary", "op": "eq", "value": 1}}), 422)
    assert "field must be one of" in wrong["errors"]["condition"][0]
    assert "condition" in problem(marketer.post(RULES, json={**rule, "kind": "behaviour"}), 422)["errors"]
    assert set(problem(marketer.post(RULES, json={**rule, "decay_days": 30}), 422)["errors"]) == {"decay_days"}
    made = add(marketer, **{**rule, "name": f"Temporary {uuid.uuid4().hex[:6]}"})
    assert "condition" in problem(marketer.patch(f"{RULES}/{made['id']}", json={"condition": {"op": "eq"}}), 422)["errors"]
    assert problem(marketer.patch(f"{RULES}/{made['id']}", json={"points": 7}, headers={"If-Match": '"9"'}), 412)
    assert marketer.get(f"{RULES}/{made['id']}").json() == made
    assert problem(marketer.get("/api/v1/leads/00000000-0000-4000-8000-000000000000/score"), 404)
    assert marketer.delete(f"{RULES}/{made['id']}").status_code == 204
    assert marketer.get(f"{RULES}/{made['id']}").status_code == 404


def test_a_role_without_the_permission_changes_nothing(people, admin, rules, tag):
    marketer, analyst, rep = people["marketer"], people["analyst"], people["sales_rep"]
    before = marketer.get(RULES, params={"q": tag}).json()["items"]
    body = {"name": f"{tag} sneaky", "kind": "attribute", "points": 100,
            "condition": {"field": "industry", "op": "exists"}}
    assert problem(rep.post(RULES, json=body), 403)
    assert problem(analyst.post(RULES, json=body), 403)
    assert problem(analyst.patch(f"{RULES}/{rules[0]['id']}", json={"points": 100}), 403)
    assert problem(rep.delete(f"{RULES}/{rules[0]['id']}"), 403)
    assert problem(rep.get(RULES), 403)
    lead = new_lead(rep, industry=tag)  # the rep's own lead: its score is on the lead, not explained to them
    assert problem(rep.get(f"/api/v1/leads/{lead['id']}/score"), 403)
    assert marketer.get(RULES, params={"q": tag}).json()["items"] == before
