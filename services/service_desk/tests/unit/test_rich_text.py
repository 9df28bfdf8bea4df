"""Rich text is cleaned before it is stored: knowledge-base bodies, ticket descriptions, replies and
notes, complaint descriptions, and the article a solved ticket becomes."""
from __future__ import annotations

from sqlalchemy import select

from crm_service_desk.domain import complaints, conversation, kb_articles, tickets
from crm_service_desk.models import Comment, KbArticle, Ticket

SCRIPT = '<p>Restart it<script>alert("x")</script></p>'
ONERROR = '<img src=x onerror="alert(1)"><b onmouseover="alert(2)">bold</b>'
JS_LINK = '<a href="javascript:alert(document.cookie)">help</a> <a href="https://docs.example/fix">docs</a>'


def stored(desk, model, record_id, field):
    return desk.query(lambda s: getattr(s.execute(select(model).where(model.id == record_id)).scalar_one(), field))


def test_kb_article_bodies_are_cleaned_on_create_and_update(desk):
    article = desk.run(desk.manager, kb_articles.create, {"title": "Reset", "body": SCRIPT, "status": "published"})
    assert article.body == "<p>Restart it</p>" == stored(desk, KbArticle, article.id, "body")
    changed = desk.run(desk.manager, kb_articles.update, article.id, {"body": JS_LINK}, None)
    expected = ('<a rel="noopener noreferrer">help</a> '
                '<a href="https://docs.example/fix" rel="noopener noreferrer">docs</a>')
    assert changed.body == expected == stored(desk, KbArticle, article.id, "body")


def test_ticket_descriptions_and_comments_are_cleaned(desk):
    customer = desk.actor("customer", email="ada@example.com")
    ticket = desk.run(customer, tickets.create_ticket, {"subject": "Help", "description": ONERROR})
    assert stored(desk, Ticket, ticket.id, "description") == "<b>bold</b>"
    desk.run(desk.manager, tickets.update_ticket, ticket.id, {"description": SCRIPT}, None)
    assert stored(desk, Ticket, ticket.id, "description") == "<p>Restart it</p>"
    reply = desk.run(customer, conversation.add_comment, ticket.id, {"body": JS_LINK})
    note = desk.run(desk.manager, conversation.add_comment, ticket.id, {"body": ONERROR, "public": False})
    assert stored(desk, Comment, reply.id, "body").startswith('<a rel="noopener noreferrer">help</a>')
    assert stored(desk, Comment, note.id, "body") == "<b>bold</b>"
    complaint = desk.run(desk.manager, complaints.create, {"subject": "Rude", "description": SCRIPT,
                                                           "requester_email": "ada@example.com"})
    assert complaint.description == "<p>Restart it</p>"


def test_a_ticket_turned_into_an_article_copies_only_clean_html(desk):
    customer = desk.actor("customer", email="ada@example.com")
    ticket = desk.run(customer, tickets.create_ticket, {"subject": "Broken", "description": ONERROR + JS_LINK})
    desk.run(desk.manager, conversation.add_comment, ticket.id, {"body": SCRIPT, "status": "solved"})
    article = desk.run(desk.manager, kb_articles.from_ticket, ticket.id)
    body = stored(desk, KbArticle, article.id, "body")
    assert body == article.body
    for bad in ("<script", "onerror", "onmouseover", "javascript:", "<img"):
        assert bad not in body.lower()
    assert "<b>bold</b>" in body and "<p>Restart it</p>" in body
