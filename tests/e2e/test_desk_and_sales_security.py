"""Security of the service desk and of the lead duplicate check through the gateway: survey tokens reach only
the requester and never a staff view or a log line, staff never answer surveys, customers send no NPS
surveys, rich text is stored clean, and a duplicate lead's 409 names only leads the caller may read."""
from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
PASSWORD = "Portal-Passw0rd-42!"


def created(response):
    assert response.status_code == 201, response.text
    return response.json()


def portal_customer(admin, suite):
    email = f"cust-{uuid.uuid4().hex[:8]}@example.com"
    created(admin.post("/api/v1/portal-customers", json={"email": email, "full_name": "Carla Customer",
                                                         "password": PASSWORD, "contact_id": str(uuid.uuid4())}))
    return suite.login(email, PASSWORD)


def suite_logs(suite) -> str:
    return "\n".join(path.read_text(errors="replace") for path in Path(suite.suite.log_dir).glob("*.log"))


@pytest.fixture(scope="module")
def staff(admin):
    return {"manager": admin.as_new_user(["support_manager"]), "agent": admin.as_new_user(["support_agent"])}


def test_the_survey_token_reaches_only_the_requester_and_never_a_log(staff, admin, suite):
    manager, agent = staff["manager"], staff["agent"]
    customer = portal_customer(admin, suite)
    ticket = created(customer.post("/api/v1/tickets", json={"subject": "Router blinks", "description": "red"}))
    url = f"/api/v1/tickets/{ticket['id']}"
    assert manager.patch(url, json={"assignee_id": agent.user["id"]}).status_code == 200
    solved = agent.patch(url, json={"status": "solved"})
    assert solved.status_code == 200 and solved.json()["survey_token"] is None
    for member in (manager, agent):
        assert member.get(url).json()["survey_token"] is None
        listed = member.get("/api/v1/tickets", params={"limit": 200}).json()["items"]
        assert all(t["survey_token"] is None for t in listed)
        invitations = member.get("/api/v1/surveys", params={"ticket_id": ticket["id"]}).json()["items"]
        assert len(invitations) == 1 and "token" not in invitations[0]
    token = customer.get(url).json()["survey_token"]
    assert token and len(token) >= 43
    # staff are refused, signed in as themselves, even the agent who solved the ticket
    for member in (agent, manager, admin):
        refused = member.post(f"/api/v1/surveys/{token}/responses", json={"score": 5})
        assert refused.status_code == 403, refused.text
    assert manager.get("/api/v1/surveys", params={"ticket_id": ticket["id"], "answered": "true"}).json()["items"] == []
    answered = suite.clone().post(f"/api/v1/surveys/{token}/responses", json={"score": 5, "comment": "fast"})
    assert answered.status_code == 201, answered.text
    assert suite.clone().post(f"/api/v1/surveys/{token}/responses", json={"score": 4}).status_code == 409
    assert customer.get(url).json()["survey_token"] is None
    # the access log recorded the answers, with the token redacted; no log line of the suite holds it
    deadline = time.time() + 10
    while "/api/v1/surveys/[redacted]/responses" not in suite_logs(suite) and time.time() < deadline:
        time.sleep(0.2)
    logs = suite_logs(suite)
    assert "/api/v1/surveys/[redacted]/responses" in logs
    assert token not in logs


def test_customers_and_agents_send_no_nps_surveys(staff, admin, suite):
    customer = portal_customer(admin, suite)
    contact_id = str(uuid.uuid4())
    for caller in (customer, staff["agent"]):
        refused = caller.post("/api/v1/surveys", json={"name": "Skewed", "contact_ids": [contact_id]})
        assert refused.status_code == 403, refused.text
    too_many = staff["manager"].post("/api/v1/surveys", json={"name": "All", "contact_ids": [
        str(uuid.uuid4()) for _ in range(1001)]})
    assert too_many.status_code == 422 and "contact_ids" in too_many.json()["errors"]


SCRIPT = '<p>Hold the button<script>alert("x")</script></p>'
ONERROR = '<img src=x onerror="alert(1)"><b onmouseover="alert(2)">ten seconds</b>'
JS_LINK = '<a href="javascript:alert(document.cookie)">more</a> <a href="https://docs.example/reset">docs</a>'
CLEAN_LINKS = ('<a rel="noopener noreferrer">more</a> '
               '<a href="https://docs.example/reset" rel="noopener noreferrer">docs</a>')


def test_rich_text_is_stored_and_returned_clean(staff, admin, suite):
    manager = staff["manager"]
    article = created(manager.post("/api/v1/kb/articles", json={"title": "Reset", "body": SCRIPT + JS_LINK}))
    assert article["body"] == "<p>Hold the button</p>" + CLEAN_LINKS
    assert manager.get(f"/api/v1/kb/articles/{article['id']}").json()["body"] == article["body"]
    customer = portal_customer(admin, suite)
    ticket = created(customer.post("/api/v1/tickets", json={"subject": "Broken", "description": ONERROR}))
    url = f"/api/v1/tickets/{ticket['id']}"
    assert ticket["description"] == "<b>ten seconds</b>" == manager.get(url).json()["description"]
    reply = created(customer.post(f"{url}/comments", json={"body": JS_LINK}))
    assert reply["body"] == CLEAN_LINKS
    created(manager.post(f"{url}/comments", json={"body": SCRIPT, "status": "solved"}))
    bodies = [c["body"] for c in manager.get(f"{url}/comments").json()["items"]]
    assert bodies == [CLEAN_LINKS, "<p>Hold the button</p>"]
    draft = created(manager.post(f"{url}/kb-article"))
    for bad in ("<script", "onerror", "onmouseover", "javascript:", "<img"):
        assert bad not in draft["body"].lower()
    assert "<b>ten seconds</b>" in draft["body"] and "<p>Hold the button</p>" in draft["body"]


def test_a_duplicate_lead_409_names_only_leads_the_caller_may_read(admin):
    team = created(admin.post("/api/v1/teams", json={"name": f"Dups {uuid.uuid4().hex[:6]}"}))
    rep1, rep2 = (admin.as_new_user(["sales_rep"], team_id=team["id"]) for _ in range(2))
    manager = admin.as_new_user(["sales_manager"], team_id=team["id"])
    tag = uuid.uuid4().hex[:8]
    body = {"first_name": "Ada", "last_name": f"Lovelace-{tag}", "company": f"Engines {tag}",
            "email": f"ada-{tag}@engines.example", "country": "GB"}
    first = created(rep1.post("/api/v1/leads", json=body))
    hidden = rep2.post("/api/v1/leads", json={**body, "first_name": "Augusta"})
    assert hidden.status_code == 409, hidden.text
    problem = hidden.json()
    assert problem["duplicates"] == [] and problem["hidden_duplicates"] == 1
    for secret in (first["id"], rep1.user["id"], body["company"], body["last_name"]):
        assert secret not in hidden.text
    seen = manager.post("/api/v1/leads", json={**body, "first_name": "Augusta"})
    assert seen.status_code == 409 and [d["id"] for d in seen.json()["duplicates"]] == [first["id"]]
    assert seen.json()["hidden_duplicates"] == 0 and seen.json()["duplicates"][0]["owner_id"] == rep1.user["id"]
    assert len([x for x in admin.get("/api/v1/leads", params={"email": body["email"]}).json()["items"]]) == 1
