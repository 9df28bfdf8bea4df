"""The suppression list through the gateway, as a marketer and a sender use it: entries, one per address,
filters, the send-time check, what may be lifted, who may change it, and an erasure that keeps suppressing."""
from __future__ import annotations

import uuid

import pytest

from crm_common.testing.waiting import eventually
from tests.e2e.marketing_e2e import people_of, problem

pytestmark = pytest.mark.e2e

BASE = "/api/v1/suppressions"


def address(tag: str = "ada") -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}@suppress.example"


@pytest.fixture(scope="module")
def people(admin):
    return people_of(admin)


def add(client, **body):
    response = client.post(BASE, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_an_entry_is_created_once_per_address_and_read_back_with_its_etag(people):
    marketer = people["marketer"]
    email = address()
    response = marketer.post(BASE, json={"email": f"  {email.upper()} ", "note": "asked at the booth"})
    assert response.status_code == 201, response.text
    entry = response.json()
    assert (entry["email"], entry["reason"], entry["source"], entry["note"]) == (email, "manual", "api",
                                                                                 "asked at the booth")
    assert entry["created_by"] == marketer.user["id"] and entry["created_at"].endswith("Z")
    assert response.headers["Location"].endswith(f"{BASE}/{entry['id']}")
    assert response.headers["ETag"] == f'"{entry["version"]}"'
    got = marketer.get(f"{BASE}/{entry['id']}")
    assert got.status_code == 200 and got.json() == entry and got.headers["ETag"] == f'"{entry["version"]}"'

    twice = problem(marketer.post(BASE, json={"email": email, "reason": "hard_bounce"}), 409)
    assert twice["existing_id"] == entry["id"] and entry["id"] in twice["detail"]
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = marketer.post(BASE, json={"email": address()}, headers=key)
    replay = marketer.post(BASE, json={"email": first.json()["email"]}, headers=key)
    assert first.status_code == replay.status_code == 201 and replay.json()["id"] == first.json()["id"]


def test_bad_input_is_a_422_problem_naming_the_fields(people):
    marketer = people["marketer"]
    bad = problem(marketer.post(BASE, json={"email": "not an address", "reason": "erased", "note": "x" * 501}), 422)
    assert set(bad["errors"]) == {"email", "reason", "note"}
    assert set(problem(marketer.post(BASE, json={"email": address(), "colour": "red"}), 422)["errors"]) == {"colour"}
    assert "email" in problem(marketer.post(BASE, json={"email": "ada@localhost"}), 422)["errors"]
    assert "colour" in problem(marketer.get(f"{BASE}?colour=red"), 422)["errors"]
    assert "reason" in problem(marketer.get(f"{BASE}?reason=bored"), 422)["errors"]
    assert "email" in problem(marketer.get(f"{BASE}/check"), 422)["errors"]
    assert "email" in problem(marketer.get(f"{BASE}/check?email=nope"), 422)["errors"]


def test_the_list_filters_and_pages_and_the_check_answers_a_sender(people, admin):
    marketer, analyst = people["marketer"], people["analyst"]
    tag = uuid.uuid4().hex[:8]
    made = [add(marketer, email=address(f"{tag}-{n}"), reason=reason, source=f"campaign-{tag}")
            for n, reason in enumerate(("hard_bounce", "complaint", "unsubscribe", "complaint"))]
    complaints = marketer.get(f"{BASE}?q=campaign-{tag}&reason=complaint&sort=email")
    assert complaints.status_code == 200, complaints.text
    assert [e["id"] for e in complaints.json()["items"]] == [made[1]["id"], made[3]["id"]]
    one = analyst.get(BASE, params={"email": made[2]["email"].upper()}).json()
    assert [e["id"] for e in one["items"]] == [made[2]["id"]] and one["next_cursor"] is None
    seen, cursor = [], None
    while True:
        args = {"q": tag, "limit": 3, "sort": "-email", **({"cursor": cursor} if cursor else {})}
        page = marketer.get(BASE, params=args)
        assert page.status_code == 200, page.text
        seen += [e["id"] for e in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [e["id"] for e in sorted(made, key=lambda e: e["email"], reverse=True)]

    key = admin.post("/api/v1/api-keys", json={"name": f"sender {tag}", "roles": ["integration"]})
    assert key.status_code == 201, key.text
    sender = admin.clone(api_key=key.json()["key"])
    asked = sender.get(f"{BASE}/check", params={"email": f" {made[1]['email'].upper()}"})
    assert asked.status_code == 200, asked.text
    assert asked.json() == {"email": made[1]["email"], "suppressed": True, "reason": "complaint"}
    assert sender.get(f"{BASE}/check", params={"email": address()}).json()["suppressed"] is False
    # the mail provider's connector reports a bounce (decided December 2026), but lifting stays the marketer's
    bounced = sender.post(BASE, json={"email": address(), "reason": "hard_bounce"})
    assert bounced.status_code == 201, bounced.text
    assert sender.delete(f"{BASE}/{bounced.json()['id']}").status_code == 403
    assert marketer.get(f"{BASE}/{bounced.json()['id']}").json()["reason"] == "hard_bounce"


def test_manual_and_bounce_entries_are_lifted_what_the_person_asked_for_stays(people):
    marketer = people["marketer"]
    for reason in ("manual", "hard_bounce"):
        entry = add(marketer, email=address(), reason=reason)
        assert marketer.delete(f"{BASE}/{entry['id']}").status_code == 204
        assert marketer.get(f"{BASE}/{entry['id']}").status_code == 404
        assert marketer.get(f"{BASE}/check", params={"email": entry["email"]}).json()["suppressed"] is False
        assert add(marketer, email=entry["email"])["id"] != entry["id"]  # the address can be suppressed again
    for reason in ("complaint", "unsubscribe"):
        entry = add(marketer, email=address(), reason=reason)
        kept = problem(marketer.delete(f"{BASE}/{entry['id']}"), 409)
        assert f"a {reason} entry cannot be lifted" in kept["detail"] and kept["reason"] == reason
        assert marketer.get(f"{BASE}/{entry['id']}").json() == entry


def test_a_role_without_the_permission_changes_nothing(people):
    marketer, analyst, rep = people["marketer"], people["analyst"], people["sales_rep"]
    entry = add(marketer, email=address())
    email = address()
    assert problem(rep.post(BASE, json={"email": email}), 403)
    assert problem(rep.get(f"{BASE}/check", params={"email": entry["email"]}), 403)
    assert problem(rep.get(BASE), 403)
    assert problem(analyst.post(BASE, json={"email": email}), 403)
    assert problem(analyst.delete(f"{BASE}/{entry['id']}"), 403)
    assert marketer.get(f"{BASE}/{entry['id']}").json() == entry
    assert marketer.get(f"{BASE}/check", params={"email": email}).json()["suppressed"] is False


def test_the_audit_trail_records_who_added_and_lifted_an_entry(people, admin):
    marketer = people["marketer"]
    entry = add(marketer, email=address())
    assert marketer.delete(f"{BASE}/{entry['id']}").status_code == 204
    trail = eventually(lambda: admin.get("/api/v1/audit", params={"entity_type": "suppression",
                                                                  "entity_id": entry["id"]}).json()["items"],
                       until=lambda items: len(items) == 2)
    assert sorted(item["action"] for item in trail) == ["create", "delete"]
    assert {item["actor_id"] for item in trail} == {marketer.user["id"]}


def test_an_erased_address_stays_suppressed_by_its_hash_alone(people, admin):
    marketer = people["marketer"]
    email = address("erase")
    entry = add(marketer, email=email, reason="unsubscribe", note=f"wrote from {email}")
    request = admin.post("/api/v1/privacy/erasure-requests", json={"email": email})
    assert request.status_code == 202, request.text
    # the marketing service applies identity.privacy_requested.v1 (test_privacy_everywhere.py follows the
    # request to completed; here, what became of the entry)
    erased = eventually(lambda: marketer.get(f"{BASE}/{entry['id']}").json(), timeout=30,
                        until=lambda found: found.get("reason") == "erased")
    assert (erased["email"], erased["note"], erased["reason"]) == (None, None, "erased")
    assert erased["version"] == entry["version"] + 1
    assert marketer.get(f"{BASE}/check", params={"email": email.upper()}).json() == {
        "email": email, "suppressed": True, "reason": "erased"}
    assert [e["id"] for e in marketer.get(BASE, params={"email": email}).json()["items"]] == [entry["id"]]
    assert marketer.get(BASE, params={"q": email}).json()["items"] == []  # no readable address to search
    assert problem(marketer.delete(f"{BASE}/{entry['id']}"), 409)["reason"] == "erased"
    assert problem(marketer.post(BASE, json={"email": email}), 409)["existing_id"] == entry["id"]
