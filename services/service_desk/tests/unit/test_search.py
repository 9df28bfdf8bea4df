"""Search of the service desk's records: tickets by number or subject, articles by title, over visibility."""
from __future__ import annotations

from crm_service_desk.domain import kb_articles, search, tickets


def open_ticket(desk, who, subject):
    body = {"subject": subject, "description": "details", "channel": "email", "type": "incident",
            "priority": "normal", "requester_email": "ada@example.com"}
    return desk.run(who, tickets.create_ticket, body)


def found(desk, who, q, **query):
    return desk.run(who, search.search, {"q": q, **query})["items"]


def test_tickets_by_subject_and_number_ranked(desk):
    exact = open_ticket(desk, desk.manager, "Printer")
    prefix = open_ticket(desk, desk.manager, "Printer jams on page two")
    contains = open_ticket(desk, desk.manager, "The office printer is offline")
    hits = found(desk, desk.manager, "printer")
    assert [(h["id"], h["score"]) for h in hits] == [(exact.id, 3), (prefix.id, 2), (contains.id, 1)]
    assert all(h["type"] == "ticket" for h in hits)
    by_number = found(desk, desk.manager, exact.number)
    assert by_number[0]["id"] == exact.id and by_number[0]["score"] == 3


def test_an_agent_finds_the_tickets_they_may_see_only(desk):
    agent, other = desk.agent(), desk.agent()
    mine = open_ticket(desk, agent, "Scanner broken")
    open_ticket(desk, desk.manager, "Scanner smoking")
    assert [h["id"] for h in found(desk, agent, "scanner")] == [mine.id]
    assert found(desk, other, "scanner") == []


def test_articles_by_title_drafts_only_for_those_who_may_read_them(desk):
    desk.run(desk.manager, kb_articles.create, {"title": "Reset your password", "body": "b", "category": "howto",
                                                "status": "published"})
    desk.run(desk.manager, kb_articles.create, {"title": "Password policy draft", "body": "b", "category": "howto",
                                                "status": "draft"})
    rep = desk.actor("sales_rep")  # reads the published articles (and their own drafts)
    assert {h["title"] for h in found(desk, desk.manager, "password", types="article")} == {
        "Reset your password", "Password policy draft"}
    assert [h["title"] for h in found(desk, rep, "password")] == ["Reset your password"]
    assert found(desk, desk.manager, "password", types="ticket") == []
