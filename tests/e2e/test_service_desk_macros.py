"""Macros through the gateway: a support manager writes canned replies (one shared, one for another team),
an agent of the ticket's group renders the shared one on a ticket and replies with it; the other team's macro
stays out of the agent's sight, a stale If-Match changes nothing, a bad body is a 422 naming `body`, and a
portal customer gets 403 from every macro route and 404 for the ticket of someone else."""
from __future__ import annotations

import uuid

import pytest

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e

BODY = "Dear {{ requester.name }}, ticket {{ ticket.number }} ({{ ticket.subject }}) is fixed. {{ agent.name }}"


def test_a_manager_writes_a_macro_an_agent_replies_with_it(admin, suite):
    team = admin.post("/api/v1/teams", json={"name": f"Desk {uuid.uuid4().hex[:6]}"}).json()
    other_team = admin.post("/api/v1/teams", json={"name": f"Other {uuid.uuid4().hex[:6]}"}).json()
    manager = admin.as_new_user(["support_manager"])
    agent = admin.as_new_user(["support_agent"], team_id=team["id"], full_name="Mei Agent")
    group = manager.post("/api/v1/groups", json={"name": f"Macros {uuid.uuid4().hex[:6]}", "assignment": "none",
                                                 "member_ids": [agent.user["id"]]})
    assert group.status_code == 201, group.text

    made = manager.post("/api/v1/macros", json={"name": "Fixed", "body": BODY})
    assert made.status_code == 201, made.text
    macro = made.json()
    assert macro["public"] is True and macro["team_id"] is None
    hidden = manager.post("/api/v1/macros", json={"name": "Other team's", "body": "hi", "team_id": other_team["id"]})
    assert hidden.status_code == 201, hidden.text
    bad = manager.post("/api/v1/macros", json={"name": "Bad", "body": "{{ ticket.description }}"})
    assert bad.status_code == 422 and "body" in bad.json()["errors"]
    assert agent.post("/api/v1/macros", json={"name": "Mine", "body": "hi"}).status_code == 403
    stale = manager.patch(f"/api/v1/macros/{macro['id']}", json={"name": "Renamed"},
                          headers={"If-Match": f'"{macro["version"] + 3}"'})
    assert stale.status_code == 412
    renamed = manager.patch(f"/api/v1/macros/{macro['id']}", json={"name": "Fixed (printer)"},
                            headers={"If-Match": f'"{macro["version"]}"'})
    assert renamed.status_code == 200, renamed.text

    ticket = manager.post("/api/v1/tickets", json={
        "subject": "Scanner offline", "description": "since the update", "requester_email": "ada@example.com",
        "requester_name": "Ada Lovelace", "group_id": group.json()["id"]}).json()
    names = [m["name"] for m in agent.get("/api/v1/macros").json()["items"]]
    assert "Fixed (printer)" in names and "Other team's" not in names
    assert agent.get(f"/api/v1/macros/{hidden.json()['id']}").status_code == 404
    render = f"/api/v1/tickets/{ticket['id']}/macros/{macro['id']}/render"
    # the agent's name reaches the desk by identity's event
    rendered = eventually(lambda: agent.post(render), until=lambda r: r.status_code == 200 and "Mei Agent" in r.text,
                          timeout=30)
    body = rendered.json()["body"]
    assert body == f"Dear Ada Lovelace, ticket {ticket['number']} (Scanner offline) is fixed. Mei Agent"
    assert agent.post(f"/api/v1/tickets/{ticket['id']}/macros/{hidden.json()['id']}/render").status_code == 404
    reply = agent.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": body, "public": True})
    assert reply.status_code == 201, reply.text
    assert [c["body"] for c in manager.get(f"/api/v1/tickets/{ticket['id']}/comments").json()["items"]] == [body]

    email = f"cust-{uuid.uuid4().hex[:8]}@example.com"
    password = "Portal-Passw0rd-42!"
    created = admin.post("/api/v1/portal-customers", json={"email": email, "full_name": "Carla Customer",
                                                           "password": password, "contact_id": str(uuid.uuid4())})
    assert created.status_code == 201, created.text
    customer = suite.login(email, password)
    assert customer.get("/api/v1/macros").status_code == 403
    assert customer.get(f"/api/v1/macros/{macro['id']}").status_code == 403
    assert customer.post(render).status_code == 403
    assert customer.get(f"/api/v1/tickets/{ticket['id']}").status_code == 404
    assert manager.delete(f"/api/v1/macros/{macro['id']}").status_code == 204
    assert agent.post(render).status_code == 404
