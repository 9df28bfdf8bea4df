"""Tickets: numbering, requester lookup, the status flow, replies and notes, visibility."""
from __future__ import annotations

import pytest
import time_machine

from crm_common.errors import ServiceError
from crm_service_desk.domain import conversation, tickets
from crm_service_desk.models import Group, GroupMember


def open_ticket(desk, who=None, **fields):
    body = {"subject": "Printer on fire", "description": "It smokes", "channel": "email", "type": "incident",
            "priority": "normal", "requester_email": "ada@example.com"}
    body.update(fields)
    body = {k: v for k, v in body.items() if v is not None}
    return desk.run(who or desk.manager, tickets.create_ticket, body)


def error_of(call) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        call()
    return info.value


def test_numbers_start_at_one_and_follow_each_other(desk):
    numbers = [open_ticket(desk).number for _ in range(3)]
    assert numbers == ["T-000001", "T-000002", "T-000003"]


def test_a_failed_creation_gives_its_number_back(desk):
    open_ticket(desk)
    error_of(lambda: open_ticket(desk, requester_email=None))  # 422: no requester
    assert open_ticket(desk).number == "T-000002"


def test_new_ticket_defaults_and_opened_event(desk):
    ticket = open_ticket(desk, tags=["vip", "vip", "printer"])
    assert ticket.status == "new" and ticket.priority == "normal" and ticket.tags == ["vip", "printer"]
    [event] = desk.events("ticket_opened")
    assert event["data"]["number"] == ticket.number and event["data"]["id"] == ticket.id


def test_requester_found_by_email_among_contacts(desk):
    contact = desk.contact("grace@example.com", account_id="acc-1", grade="A")
    ticket = open_ticket(desk, requester_email="Grace@Example.com")
    assert (ticket.contact_id, ticket.account_id, ticket.requester_name) == (contact.id, "acc-1", "Ada Lovelace")
    assert ticket.requester_email == "grace@example.com"


def test_a_requester_is_required(desk):
    err = error_of(lambda: open_ticket(desk, requester_email=None))
    assert err.code == "validation_failed" and "requester_email" in err.errors


def test_allowed_and_forbidden_transitions(desk):
    ticket = open_ticket(desk)
    for status in ("open", "pending", "open", "on_hold", "solved", "closed"):
        ticket = desk.run(desk.manager, tickets.update_ticket, ticket.id, {"status": status}, None)
        assert ticket.status == status
    err = error_of(lambda: desk.run(desk.manager, tickets.update_ticket, ticket.id, {"status": "open"}, None))
    assert err.code == "conflict" and err.extra["allowed_statuses"] == []
    other = open_ticket(desk)
    err = error_of(lambda: desk.run(desk.manager, tickets.update_ticket, other.id, {"status": "closed"}, None))
    assert err.code == "conflict"


def test_stale_version_is_refused_and_changes_nothing(desk):
    ticket = open_ticket(desk)
    err = error_of(lambda: desk.run(desk.manager, tickets.update_ticket, ticket.id, {"subject": "x"},
                                    ticket.version + 5))
    assert err.code == "precondition_failed"
    assert desk.run(desk.manager, tickets.get_ticket, ticket.id).subject == "Printer on fire"


def test_first_public_agent_reply_sets_first_response_and_notes_do_not(desk):
    ticket = open_ticket(desk)
    desk.run(desk.manager, conversation.add_comment, ticket.id, {"body": "internal", "public": False})
    assert desk.run(desk.manager, tickets.get_ticket, ticket.id).first_responded_at is None
    desk.run(desk.manager, conversation.add_comment, ticket.id, {"body": "On our way", "public": True})
    ticket = desk.run(desk.manager, tickets.get_ticket, ticket.id)
    assert ticket.first_responded_at is not None and ticket.status == "open"
    first = ticket.first_responded_at
    desk.run(desk.manager, conversation.add_comment, ticket.id, {"body": "again", "public": True})
    assert desk.run(desk.manager, tickets.get_ticket, ticket.id).first_responded_at == first
    assert len(desk.events("ticket_first_response")) == 1


def test_customers_see_their_own_tickets_and_public_replies_only(desk):
    customer = desk.actor("customer", email="ada@example.com")
    mine = open_ticket(desk)
    theirs = open_ticket(desk, requester_email="bob@example.com")
    desk.run(desk.manager, conversation.add_comment, mine.id, {"body": "secret note", "public": False})
    desk.run(desk.manager, conversation.add_comment, mine.id, {"body": "hello", "public": True})
    listed = desk.run(customer, tickets.list_tickets, {"limit": 50})["items"]
    assert [t["id"] for t in listed] == [mine.id]
    assert error_of(lambda: desk.run(customer, tickets.get_ticket, theirs.id)).code == "not_found"
    bodies = [c.body for c in desk.run(customer, conversation.list_comments, mine.id, {"limit": 50})["items"]]
    assert bodies == ["hello"]


def test_customer_opens_through_the_portal_as_themselves(desk):
    customer = desk.actor("customer", email="ada@example.com", contact_id="c-1", account_id="a-1")
    ticket = desk.run(customer, tickets.create_ticket, {"subject": "Help", "channel": "web", "priority": "high"})
    assert (ticket.channel, ticket.requester_email, ticket.contact_id, ticket.account_id) == (
        "portal", "ada@example.com", "c-1", "a-1")
    err = error_of(lambda: desk.run(customer, tickets.create_ticket, {"subject": "x", "assignee_id": "u"}))
    assert err.code == "validation_failed" and "assignee_id" in err.errors


def test_account_tickets_for_customers_only_when_the_setting_allows(desk):
    from crm_service_desk.domain import desk_settings
    colleague = desk.actor("customer", email="eve@example.com", account_id="a-1")
    ticket = open_ticket(desk, account_id="a-1")
    assert desk.run(colleague, tickets.list_tickets, {"limit": 50})["items"] == []
    desk.run(desk.manager, desk_settings.update, {"customers_see_account_tickets": True}, None)
    assert [t["id"] for t in desk.run(colleague, tickets.list_tickets, {"limit": 50})["items"]] == [ticket.id]


def test_customer_reply_reopens_within_the_window_only(desk):
    customer = desk.actor("customer", email="ada@example.com")
    ticket = open_ticket(desk)
    with time_machine.travel("2026-11-02 10:00:00+00:00", tick=False):
        desk.run(desk.manager, tickets.update_ticket, ticket.id, {"status": "solved"}, None)
    with time_machine.travel("2026-11-05 10:00:00+00:00", tick=False):
        desk.run(customer, conversation.add_comment, ticket.id, {"body": "still broken"})
    reopened = desk.run(desk.manager, tickets.get_ticket, ticket.id)
    assert reopened.status == "reopened" and reopened.reopened_count == 1
    assert len(desk.events("ticket_reopened")) == 1
    with time_machine.travel("2026-11-06 10:00:00+00:00", tick=False):
        desk.run(desk.manager, tickets.update_ticket, ticket.id, {"status": "solved"}, None)
    with time_machine.travel("2026-11-14 10:00:00+00:00", tick=False):  # 8 days later, window is 7
        err = error_of(lambda: desk.run(customer, conversation.add_comment, ticket.id, {"body": "again"}))
    assert err.code == "conflict"
    assert desk.run(desk.manager, tickets.get_ticket, ticket.id).status == "solved"


def test_customer_reply_on_pending_resumes(desk):
    customer = desk.actor("customer", email="ada@example.com")
    ticket = open_ticket(desk)
    desk.run(desk.manager, tickets.update_ticket, ticket.id, {"status": "pending"}, None)
    desk.run(customer, conversation.add_comment, ticket.id, {"body": "here is the info"})
    assert desk.run(desk.manager, tickets.get_ticket, ticket.id).status == "open"


def test_customers_cannot_write_internal_notes(desk):
    customer = desk.actor("customer", email="ada@example.com")
    ticket = open_ticket(desk)
    err = error_of(lambda: desk.run(customer, conversation.add_comment, ticket.id, {"body": "x", "public": False}))
    assert err.code == "validation_failed"


def test_agents_see_their_groups_tickets(desk):
    agent = desk.agent()
    outsider = desk.agent()
    group = Group(name="Printers", member_ids=[agent.user_id], assignment="none")
    desk.add(group)
    desk.add(GroupMember(group_id=group.id, user_id=agent.user_id))
    ticket = open_ticket(desk, group_id=group.id)
    assert [t["id"] for t in desk.run(agent, tickets.list_tickets, {"limit": 50})["items"]] == [ticket.id]
    assert desk.run(outsider, tickets.list_tickets, {"limit": 50})["items"] == []
    assert error_of(lambda: desk.run(outsider, tickets.update_ticket, ticket.id, {"subject": "x"}, None)).code == \
        "not_found"
    desk.run(agent, tickets.update_ticket, ticket.id, {"priority": "high"}, None)


def test_a_denied_update_writes_no_event(desk):
    rep = desk.actor("sales_rep")
    ticket = open_ticket(desk)
    before = len(desk.events())
    assert error_of(lambda: desk.run(rep, tickets.update_ticket, ticket.id, {"subject": "x"}, None)).code == \
        "not_found"
    assert len(desk.events()) == before


def test_filters_by_tag_and_status(desk):
    a = open_ticket(desk, tags=["vip"])
    open_ticket(desk, tags=["other"])
    vip = desk.run(desk.manager, tickets.list_tickets, {"tag": "vip", "limit": 50})["items"]
    assert [t["id"] for t in vip] == [a.id]
    assert len(desk.run(desk.manager, tickets.list_tickets, {"status": "new", "limit": 1})["items"]) == 1


def test_closed_tickets_take_no_more_replies(desk):
    ticket = open_ticket(desk)
    desk.run(desk.manager, tickets.update_ticket, ticket.id, {"status": "solved"}, None)
    desk.run(desk.manager, tickets.update_ticket, ticket.id, {"status": "closed"}, None)
    assert error_of(lambda: desk.run(desk.manager, conversation.add_comment, ticket.id, {"body": "x"})).code == \
        "conflict"


def test_deleting_hides_the_ticket_and_needs_the_delete_permission(desk):
    ticket = open_ticket(desk)
    agent = desk.agent()
    desk.run(desk.manager, tickets.update_ticket, ticket.id, {"assignee_id": agent.user_id}, None)
    assert error_of(lambda: desk.run(agent, tickets.delete_ticket, ticket.id)).code == "forbidden"
    desk.run(desk.manager, tickets.delete_ticket, ticket.id)
    assert error_of(lambda: desk.run(desk.manager, tickets.get_ticket, ticket.id)).code == "not_found"
    assert desk.run(desk.manager, tickets.list_tickets, {"limit": 50})["items"] == []
    assert [e["data"]["id"] for e in desk.events("ticket_deleted")] == [ticket.id]


def test_closing_emits_closed(desk):
    ticket = open_ticket(desk)
    desk.run(desk.manager, tickets.update_ticket, ticket.id, {"status": "solved"}, None)
    closed = desk.run(desk.manager, tickets.update_ticket, ticket.id, {"status": "closed"}, None)
    assert closed.closed_at is not None
    assert [e["data"]["status"] for e in desk.events("ticket_closed")] == ["closed"]
