"""Search across records through the gateway: a rep finds their own lead and not another rep's; a support
agent finds a ticket they opened (and no leads); a too short text or an unknown type is a 422."""
from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.e2e


def test_a_rep_finds_their_lead_an_agent_a_ticket(admin):
    rep, other = admin.as_new_user(["sales_rep"]), admin.as_new_user(["sales_rep"])
    agent = admin.as_new_user(["support_agent"])
    word = f"zq{uuid.uuid4().hex[:8]}"
    mine = rep.post("/api/v1/leads", json={"last_name": word, "company": "Mine Ltd"})
    assert mine.status_code == 201, mine.text
    theirs = other.post("/api/v1/leads", json={"last_name": f"{word}son", "company": "Theirs Ltd"})
    assert theirs.status_code == 201, theirs.text
    ticket = agent.post("/api/v1/tickets", json={"subject": f"Printer {word} jams", "requester_email": "ada@example.com"})
    assert ticket.status_code == 201, ticket.text

    found = rep.get("/api/v1/search", params={"q": word})
    assert found.status_code == 200, found.text
    assert [(hit["type"], hit["id"], hit["score"]) for hit in found.json()["items"]] == [
        ("lead", mine.json()["id"], 3)]

    everything = admin.get("/api/v1/search", params={"q": word.upper(), "types": "lead,ticket"}).json()["items"]
    assert [(hit["type"], hit["score"]) for hit in everything] == [("lead", 3), ("lead", 2), ("ticket", 1)]
    assert everything[0]["id"] == mine.json()["id"] and everything[2]["id"] == ticket.json()["id"]

    by_agent = agent.get("/api/v1/search", params={"q": word}).json()["items"]
    assert [(hit["type"], hit["id"]) for hit in by_agent] == [("ticket", ticket.json()["id"])]
    assert by_agent[0]["title"].endswith(f"Printer {word} jams")

    short = rep.get("/api/v1/search", params={"q": "a"})
    assert short.status_code == 422 and "q" in short.json()["errors"]
    unknown = rep.get("/api/v1/search", params={"q": word, "types": "lead,invoice"})
    assert unknown.status_code == 422 and "types" in unknown.json()["errors"]
