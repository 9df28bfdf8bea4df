"""Complaints, knowledge base search, surveys, service contracts and privacy requests."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine

from crm_common.entrypoint import dispatch
from crm_common.errors import ServiceError
from crm_service_desk import handlers
from crm_service_desk.domain import complaints, configuration, conversation, kb_articles, tickets
from crm_service_desk.models import ServiceContract


def open_ticket(desk, **fields):
    body = {"subject": "Cannot log in", "description": "password reset fails", "channel": "email",
            "type": "incident", "priority": "normal", "requester_email": "ada@example.com", **fields}
    return desk.run(desk.manager, tickets.create_ticket, body)


def fails(call, code):
    with pytest.raises(ServiceError) as info:
        call()
    assert info.value.code == code, info.value
    return info.value


# -- complaints ------------------------------------------------------------------------------------

def test_a_complaint_ticket_carries_deadlines_and_resolves_with_cause(desk):
    with time_machine.travel("2026-11-23 10:00:00+00:00", tick=False):
        ticket = open_ticket(desk, type="complaint", subject="Rude driver")
    [complaint] = desk.run(desk.manager, complaints.list_complaints, {"limit": 10})["items"]
    assert complaint.ticket_id == ticket.id and complaint.status == "received"
    assert complaint.acknowledgement_due_at - complaint.received_at == timedelta(days=2)
    assert complaint.final_response_due_at - complaint.received_at == timedelta(days=30)
    fails(lambda: desk.run(desk.manager, complaints.update, complaint.id, {"status": "resolved"}, None),
          "validation_failed")
    fails(lambda: desk.run(desk.manager, complaints.update, complaint.id,
                           {"compensation_amount": Decimal("25.00")}, None), "validation_failed")
    with time_machine.travel("2026-11-24 10:00:00+00:00", tick=False):
        desk.run(desk.manager, complaints.update, complaint.id, {"status": "acknowledged"}, None)
    with time_machine.travel("2026-11-30 10:00:00+00:00", tick=False):
        done = desk.run(desk.manager, complaints.update, complaint.id,
                        {"status": "resolved", "root_cause": "staff conduct", "resolution": "apologised",
                         "compensation_amount": Decimal("25.00"), "compensation_currency": "EUR"}, None)
    assert done.resolved_at is not None and done.acknowledged_at < done.resolved_at
    [event] = desk.events("complaint_resolved")
    assert event["data"]["compensation_amount"] == "25.00" and event["data"]["on_time"] is True
    fails(lambda: desk.run(desk.manager, complaints.update, complaint.id, {"status": "received"}, None), "conflict")
    report = desk.run(desk.manager, complaints.report, {})
    assert report["total"] == 1 and report["by_root_cause"] == [{"key": "staff conduct", "count": 1}]
    assert report["compensation"] == [{"currency": "EUR", "total": Decimal("25.00")}]
    assert report["acknowledged_on_time_percent"] == 100.0 and report["resolved_on_time_percent"] == 100.0


def test_overdue_acknowledgement_is_reported(desk):
    with time_machine.travel("2026-11-01 10:00:00+00:00", tick=False):
        desk.run(desk.manager, complaints.create, {"subject": "Late delivery", "requester_email": "a@b.c"})
    with time_machine.travel("2026-11-05 10:00:00+00:00", tick=False):
        report = desk.run(desk.manager, complaints.report, {})
        overdue = desk.run(desk.manager, complaints.list_complaints, {"overdue": True, "limit": 10})["items"]
    assert report["acknowledgement_overdue"] == 1 and len(overdue) == 1


# -- knowledge base --------------------------------------------------------------------------------

def article(desk, title, body, status="published", who=None):
    return desk.run(who or desk.manager, kb_articles.create, {"title": title, "body": body, "category": "howto",
                                                      "status": status})


def test_search_ranks_title_matches_first_and_hides_drafts_from_customers(desk):
    body_only = article(desk, "Account settings", "How to reset a password from the settings page.")
    titled = article(desk, "Reset your password", "Open the login page and follow the reset link.")
    article(desk, "Invoices", "Where invoices live.")
    draft = article(desk, "Password policy draft", "reset password rules", status="draft")
    found = desk.run(desk.manager, kb_articles.list_articles, {"q": "reset password", "limit": 10})["items"]
    assert found[0].id == titled.id and body_only.id in [a.id for a in found]
    assert found[0].rank > found[-1].rank
    assert draft.id in [a.id for a in found]
    customer = desk.actor("customer", email="ada@example.com")
    seen = desk.run(customer, kb_articles.list_articles, {"q": "password", "limit": 10})["items"]
    assert draft.id not in [a.id for a in seen] and titled.id in [a.id for a in seen]
    fails(lambda: desk.run(customer, kb_articles.get, draft.id), "not_found")
    assert [a.id for a in desk.run(customer, kb_articles.list_articles, {"limit": 10})["items"]].count(draft.id) == 0


def test_search_pages_with_a_cursor(desk):
    for i in range(5):
        article(desk, f"Printer guide {i}", "printer toner paper")
    first = desk.run(desk.manager, kb_articles.list_articles, {"q": "printer", "limit": 3})
    second = desk.run(desk.manager, kb_articles.list_articles, {"q": "printer", "limit": 3, "cursor": first["next_cursor"]})
    ids = [a.id for a in first["items"]] + [a.id for a in second["items"]]
    assert len(ids) == 5 == len(set(ids)) and second["next_cursor"] is None


def test_publishing_emits_and_edits_reindex(desk):
    draft = article(desk, "Wifi", "Router reboot", status="draft")
    desk.run(desk.manager, kb_articles.update, draft.id, {"status": "published", "body": "Turn the modem off"}, None)
    assert len(desk.events("kb_article_published")) == 1
    assert desk.run(desk.manager, kb_articles.list_articles, {"q": "router", "limit": 5})["items"] == []
    assert len(desk.run(desk.manager, kb_articles.list_articles, {"q": "modem", "limit": 5})["items"]) == 1


def test_suggestions_and_votes_and_article_from_solved_ticket(desk):
    guide = article(desk, "Reset your password", "Use the reset link on the login page.")
    article(desk, "Shipping times", "Parcels take three days.")
    ticket = open_ticket(desk, subject="Password reset link broken")
    assert [a.id for a in desk.run(desk.manager, kb_articles.suggestions, ticket.id)["items"]] == [guide.id]
    voter = desk.agent()
    desk.run(voter, kb_articles.vote, guide.id, {"helpful": True})
    desk.run(voter, kb_articles.vote, guide.id, {"helpful": True})  # once per voter
    voted = desk.run(desk.manager, kb_articles.vote, guide.id, {"helpful": False})
    assert (voted.helpful_count, voted.not_helpful_count) == (1, 1)
    fails(lambda: desk.run(desk.manager, kb_articles.from_ticket, ticket.id), "conflict")
    desk.run(desk.manager, conversation.add_comment, ticket.id, {"body": "Clear your cookies.", "status": "solved"})
    draft = desk.run(desk.manager, kb_articles.from_ticket, ticket.id)
    assert draft.status == "draft" and "Clear your cookies." in draft.body and draft.source_ticket_id == ticket.id


# -- service contracts -------------------------------------------------------------------------------

def test_entitlement_by_product_and_hours_consumed(desk):
    today = date.today()
    general = desk.run(desk.manager, configuration.SERVICE_CONTRACTS.create, {
        "name": "Support", "kind": "support", "account_id": "acc-1", "product_id": None,
        "starts_on": today - timedelta(days=1), "ends_on": today + timedelta(days=30),
        "included_hours": Decimal("1.00"), "sla_policy_id": None})
    warranty = desk.run(desk.manager, configuration.SERVICE_CONTRACTS.create, {
        "name": "Warranty", "kind": "warranty", "account_id": "acc-1", "product_id": "prod-9",
        "starts_on": today - timedelta(days=1), "ends_on": today + timedelta(days=30),
        "included_hours": None, "sla_policy_id": None})
    assert open_ticket(desk, account_id="acc-1", product_id="prod-9").service_contract_id == warranty.id
    ticket = open_ticket(desk, account_id="acc-1")
    assert ticket.service_contract_id == general.id and ticket.entitled
    assert open_ticket(desk, account_id="acc-2").entitled is False
    desk.run(desk.manager, conversation.log_time, ticket.id, {"minutes": 40})
    desk.run(desk.manager, conversation.log_time, ticket.id, {"minutes": 20})
    used = desk.query(lambda s: s.get(ServiceContract, general.id))
    assert used.consumed_hours == Decimal("1.00") and used.status == "exhausted"
    assert open_ticket(desk, account_id="acc-1").entitled is False  # no hours left


def test_contract_dates_are_checked(desk):
    fails(lambda: desk.run(desk.manager, configuration.SLA_POLICIES.create, {
        "name": "x", "priority": "low", "first_response_minutes": 1, "resolution_minutes": 2,
        "business_hours_id": "missing"}), "validation_failed")


def test_configuration_changes_name_their_resource_for_the_audit_trail(desk):
    group = desk.run(desk.manager, configuration.GROUPS.create, {"name": "Tier 2"})
    desk.run(desk.manager, configuration.GROUPS.update, group.id, {"name": "Tier 3"}, None)
    desk.run(desk.manager, configuration.GROUPS.remove, group.id)
    changes = [(e["type"], e["data"]["entity"], e["data"]["id"], e["data"].get("changed_fields"))
               for e in desk.events() if e["type"].startswith("service_desk.config_")]
    assert changes == [("service_desk.config_created.v1", "group", group.id, None),
                       ("service_desk.config_updated.v1", "group", group.id, ["name"]),
                       ("service_desk.config_deleted.v1", "group", group.id, None)]


# -- privacy ---------------------------------------------------------------------------------------

def test_privacy_export_and_erasure(desk):
    ticket = open_ticket(desk, requester_email="ada@example.com")
    open_ticket(desk, requester_email="bob@example.com")
    customer = desk.actor("customer", email="ada@example.com")
    desk.run(customer, conversation.add_comment, ticket.id, {"body": "my phone is 555"})
    desk.run(desk.manager, conversation.add_comment, ticket.id, {"body": "note", "public": False})
    envelope = {"type": "identity.privacy_requested.v1", "event_id": "e1",
                "data": {"request_id": "r1", "kind": "export", "email": "ADA@example.com"}}
    desk.run(None, dispatch, envelope, handlers.HANDLERS)
    [answer] = desk.events("privacy_part_completed")
    assert answer["data"]["status"] == "done" and answer["data"]["counts"]["tickets"] == 1
    assert [c["body"] for c in answer["data"]["data"]["tickets"][0]["comments"]] == ["my phone is 555"]
    erase = {**envelope, "data": {"request_id": "r2", "kind": "erasure", "email": "ada@example.com"}}
    desk.run(None, dispatch, erase, handlers.HANDLERS)
    erased = desk.run(desk.manager, tickets.get_ticket, ticket.id)
    assert erased.requester_email is None and erased.requester_name == "[erased]"
    assert desk.events("privacy_part_completed")[-1]["data"]["counts"] == {
        "tickets": 1, "comments": 1, "complaints": 0, "surveys": 0}
    assert len(desk.run(desk.manager, tickets.list_tickets, {"limit": 10})["items"]) == 2  # counts stay
