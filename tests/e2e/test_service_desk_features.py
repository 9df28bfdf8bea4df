"""The service desk's other features through the gateway: business hours, service contracts and hours,
complaints, the knowledge base, NPS surveys, privacy requests."""
from __future__ import annotations

import functools
import uuid
from datetime import date, timedelta

import pytest

from crm_common.testing import rpc
from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e


wait_for = functools.partial(eventually, timeout=20.0, interval=0.25)  # fails at the wait, showing what it saw


@pytest.fixture(scope="module")
def manager(admin):
    return admin.as_new_user(["support_manager"])


def mailer_token(suite, invitation_id: str) -> str:
    """The survey token the mailer gets for an invitation's email (an RPC the gateway does not route)."""
    return rpc.call(suite.suite.env["AMQP_URI"], suite.suite.env["CRM_BUS_KEY_FILE"], "service_desk", "issue_survey_token",
                    id=invitation_id)["token"]


def created(response):
    assert response.status_code == 201, response.text
    return response.json()


def test_business_hours_in_an_iana_time_zone(manager):
    body = {"name": "Berlin", "time_zone": "Europe/Berlin",
            "intervals": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]}
    hours = created(manager.post("/api/v1/business-hours", json=body))
    assert hours["time_zone"] == "Europe/Berlin" and hours["utc_offset_minutes"] == 0
    unknown = manager.post("/api/v1/business-hours", json={**body, "time_zone": "Mars/Olympus"})
    assert unknown.status_code == 422 and "time_zone" in unknown.json()["errors"]
    both = manager.post("/api/v1/business-hours", json={**body, "utc_offset_minutes": 60})
    assert both.status_code == 422 and "utc_offset_minutes" in both.json()["errors"]
    fixed = manager.patch(f"/api/v1/business-hours/{hours['id']}", json={"time_zone": None, "utc_offset_minutes": 60})
    assert fixed.status_code == 200 and (fixed.json()["time_zone"], fixed.json()["utc_offset_minutes"]) == (None, 60)


def test_business_hours_drive_due_times(manager):
    hours = created(manager.post("/api/v1/business-hours", json={
        "name": "Weekend only", "utc_offset_minutes": 0, "holidays": ["2030-01-05"],
        "intervals": [{"weekday": 5, "start": "10:00", "end": "12:00"}]}))
    assert hours["holidays"] == ["2030-01-05"]
    policy = created(manager.post("/api/v1/sla-policies", json={
        "name": "Low weekend", "priority": "low", "first_response_minutes": 30, "resolution_minutes": 240,
        "business_hours_id": hours["id"]}))
    # a service contract names the policy, so other low-priority policies on this suite cannot win
    account_id = str(uuid.uuid4())
    created(manager.post("/api/v1/service-contracts", json={
        "name": "Weekend cover", "account_id": account_id, "starts_on": str(date.today() - timedelta(days=1)),
        "ends_on": str(date.today() + timedelta(days=30)), "sla_policy_id": policy["id"]}))
    ticket = created(manager.post("/api/v1/tickets", json={"subject": "slow", "priority": "low",
                                                           "account_id": account_id,
                                                           "requester_email": "wk@example.com"}))
    assert ticket["sla_policy_id"] == policy["id"]
    due = date.fromisoformat(ticket["first_response_due_at"][:10])
    assert due.weekday() == 5 and ticket["first_response_due_at"][11:16] <= "12:00"
    # the calendar is in use: it cannot be deleted, the policy can be changed with If-Match
    assert manager.delete(f"/api/v1/business-hours/{hours['id']}").status_code == 409
    stale = manager.patch(f"/api/v1/sla-policies/{policy['id']}", json={"active": False}, headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    changed = manager.patch(f"/api/v1/sla-policies/{policy['id']}", json={"active": False},
                            headers={"If-Match": f'"{policy["version"]}"'})
    assert changed.status_code == 200 and changed.json()["active"] is False


def test_service_contract_entitles_and_consumes_hours(manager):
    account_id = str(uuid.uuid4())
    contract = created(manager.post("/api/v1/service-contracts", json={
        "name": "Gold support", "account_id": account_id, "starts_on": str(date.today() - timedelta(days=1)),
        "ends_on": str(date.today() + timedelta(days=365)), "included_hours": "1.50"}))
    assert contract["included_hours"] == "1.50" and contract["status"] == "active"
    bad = manager.post("/api/v1/service-contracts", json={"name": "x", "account_id": account_id,
                                                          "starts_on": "2026-02-01", "ends_on": "2026-01-01",
                                                          "included_hours": 1.5})
    assert bad.status_code == 422 and {"ends_on", "included_hours"} & set(bad.json()["errors"])
    ticket = created(manager.post("/api/v1/tickets", json={"subject": "help", "account_id": account_id,
                                                           "requester_email": "gold@example.com"}))
    assert ticket["entitled"] is True and ticket["service_contract_id"] == contract["id"]
    created(manager.post(f"/api/v1/tickets/{ticket['id']}/time-logs", json={"minutes": 45, "note": "remote"}))
    after = manager.get(f"/api/v1/service-contracts/{contract['id']}").json()
    assert after["consumed_hours"] == "0.75" and after["remaining_hours"] == "0.75"
    outside = created(manager.post("/api/v1/tickets", json={"subject": "help", "account_id": str(uuid.uuid4()),
                                                            "requester_email": "none@example.com"}))
    assert outside["entitled"] is False
    listed = manager.get("/api/v1/service-contracts", params={"account_id": account_id}).json()["items"]
    assert [c["id"] for c in listed] == [contract["id"]]


def test_complaint_deadlines_resolution_and_report(manager):
    ticket = created(manager.post("/api/v1/tickets", json={"subject": "Rude courier", "type": "complaint",
                                                           "requester_email": "angry@example.com"}))
    items = manager.get("/api/v1/complaints", params={"ticket_id": ticket["id"]}).json()["items"]
    assert len(items) == 1
    complaint = items[0]
    assert complaint["status"] == "received" and complaint["acknowledgement_due_at"] < complaint["final_response_due_at"]
    url = f"/api/v1/complaints/{complaint['id']}"
    assert manager.patch(url, json={"status": "resolved"}).status_code == 422
    assert manager.patch(url, json={"compensation_amount": 20}).status_code == 422  # a number, not a string
    resolved = manager.patch(url, json={"status": "resolved", "root_cause": "courier conduct",
                                        "resolution": "We apologised and changed courier",
                                        "compensation_amount": "20.00", "compensation_currency": "EUR"})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["resolved_at"] and resolved.json()["compensation_amount"] == "20.00"
    assert manager.patch(url, json={"status": "acknowledged"}).status_code == 409
    report = manager.get("/api/v1/complaints/report").json()
    assert report["total"] >= 1
    assert {"key": "courier conduct", "count": 1} in report["by_root_cause"]
    assert any(m["currency"] == "EUR" for m in report["compensation"])


def test_knowledge_base_search_suggestions_and_customer_view(manager, admin, suite):
    word = f"zorblax{uuid.uuid4().hex[:6]}"
    published = created(manager.post("/api/v1/kb/articles", json={
        "title": f"Reset the {word} router", "body": "Hold the button for ten seconds.", "category": "network",
        "status": "published"}))
    body_hit = created(manager.post("/api/v1/kb/articles", json={
        "title": "Network basics", "body": f"Sometimes the {word} needs a reset.", "status": "published"}))
    draft = created(manager.post("/api/v1/kb/articles", json={"title": f"{word} internals", "body": "draft"}))
    found = manager.get("/api/v1/kb/articles", params={"q": f"{word} reset"}).json()["items"]
    assert [a["id"] for a in found] == [published["id"], body_hit["id"]]
    assert found[0]["rank"] >= found[1]["rank"]
    assert draft["id"] in [a["id"] for a in manager.get("/api/v1/kb/articles", params={"q": word}).json()["items"]]
    ticket = created(manager.post("/api/v1/tickets", json={"subject": f"My {word} is dead",
                                                           "requester_email": "kb@example.com"}))
    suggested = manager.get(f"/api/v1/tickets/{ticket['id']}/suggestions").json()["items"]
    assert published["id"] in [a["id"] for a in suggested] and draft["id"] not in [a["id"] for a in suggested]
    voted = manager.post(f"/api/v1/kb/articles/{published['id']}/votes", json={"helpful": True})
    assert voted.status_code == 200 and voted.json()["helpful_count"] == 1
    email = f"kbc-{uuid.uuid4().hex[:8]}@example.com"
    created(admin.post("/api/v1/portal-customers", json={"email": email, "full_name": "K B", "password": "Portal-Passw0rd-42!",
                                                         "contact_id": str(uuid.uuid4())}))
    customer = suite.login(email, "Portal-Passw0rd-42!")
    seen = [a["id"] for a in customer.get("/api/v1/kb/articles", params={"q": word}).json()["items"]]
    assert draft["id"] not in seen and published["id"] in seen
    assert customer.get(f"/api/v1/kb/articles/{draft['id']}").status_code == 404
    assert customer.post("/api/v1/kb/articles", json={"title": "x", "body": "y"}).status_code == 403
    # a solved ticket becomes a draft article
    manager.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "Replace the fuse.", "status": "solved"})
    article = created(manager.post(f"/api/v1/tickets/{ticket['id']}/kb-article"))
    assert article["status"] == "draft" and "Replace the fuse." in article["body"]


def test_nps_survey_to_sales_contacts(manager, admin, suite):
    account = admin.post("/api/v1/accounts", json={"name": f"NPS Co {uuid.uuid4().hex[:6]}"})
    assert account.status_code == 201, account.text
    contacts = []
    for name in ("Ann", "Ben"):
        response = admin.post("/api/v1/contacts", json={"first_name": name, "last_name": "Survey",
                                                        "account_id": account.json()["id"],
                                                        "email": f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.com"})
        assert response.status_code == 201, response.text
        contacts.append(response.json())
    ids = [c["id"] for c in contacts]

    def send():  # a contact the service desk has not heard of yet is skipped (and named): wait for both
        response = manager.post("/api/v1/surveys", json={"name": "Q4 NPS", "contact_ids": ids})
        return response if response.status_code == 201 and not response.json()["skipped_contact_ids"] else None

    sent = wait_for(send, timeout=15)  # the contacts reach the service desk by event
    assert sent is not None
    survey = sent.json()
    assert survey["invitations"] == 2 and sent.headers["Location"].endswith(survey["id"])
    invitations = manager.get("/api/v1/surveys", params={"survey_id": survey["id"]}).json()["items"]
    assert len(invitations) == 2 and not [i for i in invitations if "token" in i]  # staff never see tokens
    tokens = [mailer_token(suite, i["id"]) for i in invitations]
    anonymous = manager.clone()
    assert anonymous.post(f"/api/v1/surveys/{tokens[0]}/responses", json={"score": 10}).status_code == 201
    assert anonymous.post(f"/api/v1/surveys/{tokens[1]}/responses", json={"score": 11}).status_code == 422
    results = manager.get(f"/api/v1/surveys/{survey['id']}").json()
    assert results["responses"] == 1 and results["promoters"] == 1 and results["nps"] == 100.0


def _privacy_ticket(manager):
    email = f"priv-{uuid.uuid4().hex[:8]}@example.com"
    ticket = created(manager.post("/api/v1/tickets", json={"subject": "Private matter", "requester_email": email}))
    created(manager.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "We are on it"}))
    return email, ticket


def test_privacy_erasure_anonymizes_the_requester_and_keeps_the_ticket(manager, admin):
    email, ticket = _privacy_ticket(manager)
    assert admin.post("/api/v1/privacy/erasure-requests", json={"email": email}).status_code == 202
    url = f"/api/v1/tickets/{ticket['id']}"
    erased = wait_for(lambda: manager.get(url).json()["requester_email"] is None and manager.get(url).json())
    assert erased and erased["requester_name"] == "[erased]" and erased["number"] == ticket["number"]
    assert email not in str(manager.get("/api/v1/tickets", params={"requester_email": email}).json()["items"])


def test_privacy_export_returns_the_tickets_and_public_replies(manager, admin):
    email, ticket = _privacy_ticket(manager)
    manager.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "internal only", "public": False})
    request = admin.post("/api/v1/privacy/export-requests", json={"email": email})
    assert request.status_code == 202, request.text
    url = f"/api/v1/privacy/requests/{request.json()['id']}"
    part = wait_for(lambda: (admin.get(url).json()["parts"].get("service_desk") or {}).get("status") == "done"
                    and admin.get(url).json()["parts"]["service_desk"], timeout=20)
    assert part, "the service desk's part was not recorded as done"
    [exported] = part["data"]["tickets"]
    assert exported["number"] == ticket["number"] and exported["subject"] == "Private matter"
    assert [c["body"] for c in exported["comments"]] == ["We are on it"]
