"""The service desk through the gateway: tickets, routing, the status flow, replies, SLA breaches,
the customer portal."""
from __future__ import annotations

import functools
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import update

from crm_common.testing import rpc
from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e


wait_for = functools.partial(eventually, timeout=20.0, interval=0.25)  # fails at the wait, showing what it saw


def mailer_token(suite, invitation_id: str) -> str:
    """The survey token the mailer gets for an invitation's email (an RPC the gateway does not route)."""
    return rpc.call(suite.suite.env["AMQP_URI"], suite.suite.env["CRM_BUS_KEY_FILE"], "service_desk", "issue_survey_token",
                    id=invitation_id)["token"]


def new_ticket(client, **fields):
    body = {"subject": "Printer on fire", "description": "It smokes since this morning", "channel": "email",
            "type": "incident", "priority": "normal", "requester_email": f"req-{uuid.uuid4().hex[:8]}@example.com"}
    body.update(fields)
    response = client.post("/api/v1/tickets", json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def desk(admin):
    """A group with two agents, a routing rule for 'printer' tickets and an SLA policy for normal priority."""
    manager = admin.as_new_user(["support_manager"])
    agents = [admin.as_new_user(["support_agent"]) for _ in range(2)]
    group = manager.post("/api/v1/groups", json={"name": f"Printers {uuid.uuid4().hex[:6]}",
                                                 "manager_id": manager.user["id"], "assignment": "round_robin",
                                                 "member_ids": [a.user["id"] for a in agents]})
    assert group.status_code == 201, group.text
    rule = manager.post("/api/v1/routing-rules", json={"name": "printers", "keywords": ["printer"],
                                                       "group_id": group.json()["id"], "position": 1})
    assert rule.status_code == 201, rule.text
    policy = manager.post("/api/v1/sla-policies", json={"name": "Normal", "priority": "normal",
                                                        "first_response_minutes": 60, "resolution_minutes": 480})
    assert policy.status_code == 201, policy.text
    return {"manager": manager, "agents": agents, "group": group.json(), "policy": policy.json()}


def test_a_ticket_is_numbered_routed_assigned_and_timed(desk):
    manager, agents = desk["manager"], desk["agents"]
    response = manager.post("/api/v1/tickets", json={"subject": "Printer jams", "requester_email": "Ada@Example.com",
                                                     "channel": "phone", "tags": ["hardware"]})
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert re.fullmatch(r"T-\d{6}", ticket["number"])
    assert response.headers["Location"].endswith(f"/api/v1/tickets/{ticket['id']}")
    assert response.headers["ETag"] == f'"{ticket["version"]}"'
    assert ticket["group_id"] == desk["group"]["id"] and ticket["status"] == "open"
    assert ticket["assignee_id"] in [a.user["id"] for a in agents]
    assert ticket["requester_email"] == "ada@example.com" and ticket["sla_policy_id"] == desk["policy"]["id"]
    created = datetime.fromisoformat(ticket["created_at"].replace("Z", "+00:00"))
    due = datetime.fromisoformat(ticket["first_response_due_at"].replace("Z", "+00:00"))
    assert timedelta(minutes=59) < due - created <= timedelta(minutes=60)
    assert ticket["first_response_due_at"].endswith("Z")
    # the next printer ticket goes to the other agent (round-robin)
    second = new_ticket(manager, subject="Printer offline")
    assert {ticket["assignee_id"], second["assignee_id"]} == {a.user["id"] for a in agents}
    # both agents of the group see both tickets; a sales rep sees none of them
    for agent in agents:
        assert agent.get(f"/api/v1/tickets/{ticket['id']}").status_code == 200
    listed = [t["id"] for t in agents[0].get("/api/v1/tickets", params={"group_id": desk["group"]["id"]}).json()["items"]]
    assert ticket["id"] in listed and second["id"] in listed


def test_status_flow_etags_and_conflicts(desk):
    manager = desk["manager"]
    ticket = new_ticket(manager, subject="Scanner broken")
    url = f"/api/v1/tickets/{ticket['id']}"
    stale = manager.patch(url, json={"status": "pending"}, headers={"If-Match": '"99"'})
    assert stale.status_code == 412
    assert manager.get(url).json()["status"] == "new"
    closed = manager.patch(url, json={"status": "closed"}, headers={"If-Match": f'"{ticket["version"]}"'})
    assert closed.status_code == 409 and closed.headers["Content-Type"] == "application/problem+json"
    pending = manager.patch(url, json={"status": "pending"}, headers={"If-Match": f'"{ticket["version"]}"'})
    assert pending.status_code == 200 and pending.json()["sla_paused"] is True
    assert pending.headers["ETag"] == f'"{pending.json()["version"]}"'
    solved = manager.patch(url, json={"status": "solved"})
    assert solved.status_code == 200 and solved.json()["solved_at"]
    assert solved.json()["survey_token"] is None  # a staff view never shows the requester's survey token
    assert manager.patch(url, json={"status": "closed"}).json()["status"] == "closed"
    assert manager.post(f"{url}/comments", json={"body": "late"}).status_code == 409


def test_replies_notes_first_response_and_survey(desk, suite):
    manager = desk["manager"]
    ticket = new_ticket(manager, subject="Toner empty")
    url = f"/api/v1/tickets/{ticket['id']}"
    note = manager.post(f"{url}/comments", json={"body": "check stock first", "public": False})
    assert note.status_code == 201 and note.json()["public"] is False
    assert manager.get(url).json()["first_responded_at"] is None
    reply = manager.post(f"{url}/comments", json={"body": "New toner is on its way", "status": "solved"})
    assert reply.status_code == 201, reply.text
    solved = manager.get(url).json()
    assert solved["first_responded_at"] and solved["status"] == "solved"
    bodies = [c["body"] for c in manager.get(f"{url}/comments").json()["items"]]
    assert bodies == ["check stock first", "New toner is on its way"]
    assert solved["survey_token"] is None
    [invitation] = manager.get("/api/v1/surveys", params={"ticket_id": ticket["id"]}).json()["items"]
    assert "token" not in invitation
    token = mailer_token(suite, invitation["id"])
    anonymous = suite.clone()
    assert anonymous.post(f"/api/v1/surveys/{token}/responses", json={"score": 9}).status_code == 422
    first = anonymous.post(f"/api/v1/surveys/{token}/responses", json={"score": 5, "comment": "quick"})
    assert first.status_code == 201, first.text
    assert first.json()["score"] == 5
    assert anonymous.post(f"/api/v1/surveys/{token}/responses", json={"score": 4}).status_code == 409
    assert anonymous.post("/api/v1/surveys/not-a-token/responses", json={"score": 4}).status_code == 404
    answered = manager.get("/api/v1/surveys", params={"ticket_id": ticket["id"], "answered": "true"}).json()
    assert [s["score"] for s in answered["items"]] == [5]


def test_numbers_are_unique_and_gap_free_under_concurrency(desk):
    manager = desk["manager"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        tickets = list(pool.map(lambda i: new_ticket(manager, subject=f"Concurrent {i}"), range(16)))
    numbers = sorted(int(t["number"][2:]) for t in tickets)
    assert numbers == list(range(numbers[0], numbers[0] + 16))


def test_bad_input_is_a_clear_422(desk):
    manager = desk["manager"]
    cases = [
        manager.post("/api/v1/tickets", json={"subject": "x", "requester_email": "a@b.co", "priority": "asap"}),
        manager.post("/api/v1/tickets", json={"subject": "", "requester_email": "a@b.co"}),
        manager.post("/api/v1/tickets", json={"subject": "x", "requester_email": "not-an-email"}),
        manager.post("/api/v1/tickets", json={"subject": "x"}),
        manager.post("/api/v1/tickets", json={"subject": "x", "requester_email": "a@b.co", "secret": 1}),
        manager.get("/api/v1/tickets", params={"colour": "red"}),
        manager.get("/api/v1/tickets", params={"sort": "subject"}),
        manager.post("/api/v1/sla-policies", json={"name": "x", "priority": "low", "first_response_minutes": 0,
                                                   "resolution_minutes": 5}),
        manager.post("/api/v1/business-hours", json={"name": "x", "intervals": [
            {"weekday": 0, "start": "17:00", "end": "09:00"}]}),
    ]
    for response in cases:
        assert response.status_code == 422, response.text
        assert response.json()["errors"]
    assert manager.get(f"/api/v1/tickets/{uuid.uuid4()}").status_code == 404


def test_idempotent_create(desk):
    manager = desk["manager"]
    key = str(uuid.uuid4())
    body = {"subject": "Printer once", "requester_email": "once@example.com"}
    first = manager.post("/api/v1/tickets", json=body, headers={"Idempotency-Key": key})
    again = manager.post("/api/v1/tickets", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]


def test_reassignment_and_role_limits(desk, admin):
    manager, agents = desk["manager"], desk["agents"]
    ticket = new_ticket(manager, subject="Printer noise")
    other = [a for a in agents if a.user["id"] != ticket["assignee_id"]][0]
    moved = manager.patch(f"/api/v1/tickets/{ticket['id']}", json={"assignee_id": other.user["id"]})
    assert moved.status_code == 200 and moved.json()["assignee_id"] == other.user["id"]
    rep = admin.as_new_user(["sales_rep"])
    assert rep.get(f"/api/v1/tickets/{ticket['id']}").status_code == 404
    assert rep.patch(f"/api/v1/tickets/{ticket['id']}", json={"subject": "x"}).status_code == 403
    assert manager.get(f"/api/v1/tickets/{ticket['id']}").json()["subject"] == "Printer noise"
    outsider = admin.as_new_user(["support_agent"])
    assert outsider.get(f"/api/v1/tickets/{ticket['id']}").status_code == 404
    assert outsider.patch(f"/api/v1/tickets/{ticket['id']}", json={"priority": "low"}).status_code == 404


def _desk_database_url(suite) -> str:
    env = suite.suite.env
    return env.get("SERVICE_DESK_DATABASE_URL") or f"sqlite:///{Path(env['CRM_VAR_DIR']) / 'service_desk.db'}"


def test_a_missed_target_is_escalated_within_15_seconds(desk, suite):
    from crm_common.db import make_engine
    from crm_service_desk.models import Ticket

    manager = desk["manager"]
    ticket = new_ticket(manager, subject="Printer smoke alarm")
    assert ticket["priority"] == "normal" and ticket["sla_breached"] is False
    engine = make_engine(_desk_database_url(suite))
    due = datetime.now(timezone.utc) - timedelta(seconds=1)
    with engine.begin() as conn:  # the clock cannot be waited out in a test: move the target into the past
        conn.execute(update(Ticket).where(Ticket.id == ticket["id"]).values(first_response_due_at=due))
    engine.dispose()
    url = f"/api/v1/tickets/{ticket['id']}"
    breached = wait_for(lambda: manager.get(url).json()["sla_breached"], timeout=15)
    assert breached, "the breach was not detected within 15 s"
    escalated = manager.get(url).json()
    assert escalated["priority"] == "high" and escalated["escalation_level"] == 1
    notes = manager.get(f"{url}/comments").json()["items"]
    assert any(not c["public"] and "SLA breached" in c["body"] for c in notes)
    notified = manager.get("/api/v1/service-desk/notifications").json()["items"]
    assert any(n["ticket_id"] == ticket["id"] for n in notified)
    figures = manager.get(f"/api/v1/sla-policies/{desk['policy']['id']}/compliance").json()["items"][0]
    assert figures["first_response"]["breached"] >= 1


def test_customer_portal_sees_only_own_tickets_and_public_replies(desk, admin, suite):
    manager = desk["manager"]
    email = f"cust-{uuid.uuid4().hex[:8]}@example.com"
    password = "Portal-Passw0rd-42!"
    created = admin.post("/api/v1/portal-customers", json={"email": email, "full_name": "Carla Customer",
                                                           "password": password, "contact_id": str(uuid.uuid4())})
    assert created.status_code == 201, created.text
    customer = suite.login(email, password)
    response = customer.post("/api/v1/tickets", json={"subject": "My printer", "description": "paper jam"})
    assert response.status_code == 201, response.text
    mine = response.json()
    assert mine["channel"] == "portal" and mine["requester_email"] == email
    assert customer.post("/api/v1/tickets", json={"subject": "x", "assignee_id": manager.user["id"]}).status_code == 422
    other = new_ticket(manager, subject="Someone else's printer")
    assert customer.get(f"/api/v1/tickets/{other['id']}").status_code == 404
    assert [t["id"] for t in customer.get("/api/v1/tickets").json()["items"]] == [mine["id"]]
    url = f"/api/v1/tickets/{mine['id']}"
    manager.post(f"{url}/comments", json={"body": "internal: customer is VIP", "public": False})
    manager.post(f"{url}/comments", json={"body": "Please restart it", "status": "solved"})
    seen = [c["body"] for c in customer.get(f"{url}/comments").json()["items"]]
    assert seen == ["Please restart it"]
    assert customer.patch(url, json={"priority": "urgent"}).status_code == 403
    reply = customer.post(f"{url}/comments", json={"body": "Still jammed"})
    assert reply.status_code == 201, reply.text
    assert customer.get(url).json()["status"] == "reopened"
    assert customer.post(f"{url}/comments", json={"body": "x", "public": False}).status_code == 422


def test_a_deactivated_agent_hands_open_tickets_back_to_the_group(desk, admin):
    manager = desk["manager"]
    leaving, staying = admin.as_new_user(["support_agent"]), admin.as_new_user(["support_agent"])
    group = manager.post("/api/v1/groups", json={"name": f"Night shift {uuid.uuid4().hex[:6]}",
                                                 "assignment": "round_robin",
                                                 "member_ids": [leaving.user["id"], staying.user["id"]]})
    assert group.status_code == 201, group.text
    ticket = new_ticket(manager, subject="Fax broken", group_id=group.json()["id"], assignee_id=leaving.user["id"])
    assert ticket["assignee_id"] == leaving.user["id"]
    response = admin.patch(f"/api/v1/users/{leaving.user['id']}", json={"is_active": False})
    assert response.status_code == 200, response.text
    url = f"/api/v1/tickets/{ticket['id']}"
    assert wait_for(lambda: manager.get(url).json()["assignee_id"] == staying.user["id"])
    later = [new_ticket(manager, subject="Fax again", group_id=group.json()["id"]) for _ in range(2)]
    assert {t["assignee_id"] for t in later} == {staying.user["id"]}
    agents = manager.get("/api/v1/agents", params={"group_id": group.json()["id"]}).json()["items"]
    assert {a["id"]: a["is_active"] for a in agents} == {leaving.user["id"]: False, staying.user["id"]: True}
