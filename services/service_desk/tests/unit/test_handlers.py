"""Events from sales and identity keep the local copies the service desk works with."""
from __future__ import annotations

import uuid

from crm_common.entrypoint import dispatch
from crm_service_desk import handlers
from crm_service_desk.domain import tickets
from crm_service_desk.models import AccountCopy, AgentCopy, ContactCopy


def deliver(desk, type_, data):
    envelope = {"event_id": str(uuid.uuid4()), "type": type_, "data": data}
    return desk.run(None, dispatch, envelope, handlers.HANDLERS)


def test_contacts_and_accounts_are_copied_and_used(desk):
    deliver(desk, "sales.account_created.v1", {"id": "acc-1", "name": "Acme", "grade": "B", "country": "FR"})
    deliver(desk, "sales.account_updated.v1", {"id": "acc-1", "grade": "A", "changed_fields": ["grade"]})
    deliver(desk, "sales.contact_created.v1", {"id": "con-1", "account_id": "acc-1", "first_name": "Ada",
                                               "last_name": "L", "email": "Ada@Example.com", "do_not_call": False})
    assert desk.query(lambda s: s.get(AccountCopy, "acc-1").grade) == "A"
    ticket = desk.run(desk.manager, tickets.create_ticket, {"subject": "hi", "requester_email": "ada@example.com"})
    assert (ticket.contact_id, ticket.account_id, ticket.requester_name) == ("con-1", "acc-1", "Ada L")
    assert deliver(desk, "sales.lead_created.v1", {"id": "x"}) is False


def test_a_merged_contact_hands_its_tickets_to_the_survivor(desk):
    for contact_id in ("keep", "gone"):
        deliver(desk, "sales.contact_created.v1", {"id": contact_id, "email": f"{contact_id}@example.com"})
    ticket = desk.run(desk.manager, tickets.create_ticket, {"subject": "hi", "contact_id": "gone"})
    deliver(desk, "sales.contact_merged.v1", {"id": "keep", "email": "keep@example.com", "merged_ids": ["gone"]})
    assert desk.run(desk.manager, tickets.get_ticket, ticket.id).contact_id == "keep"
    assert desk.query(lambda s: s.get(ContactCopy, "gone").merged_into_id) == "keep"


def test_users_become_agents_and_deactivation_is_applied(desk):
    deliver(desk, "identity.user_created.v1", {"id": "u-1", "email": "A@crm.test", "full_name": "Agent A",
                                               "roles": ["support_agent"], "is_active": True})
    deliver(desk, "identity.user_deactivated.v1", {"id": "u-1", "email": "a@crm.test", "is_active": False})
    agent = desk.query(lambda s: s.get(AgentCopy, "u-1"))
    assert agent.email == "a@crm.test" and agent.is_active is False
