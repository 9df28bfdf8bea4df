"""A ticket opened from a social mention (marketing.mention_ticket_requested.v1): channel social, the id
marketing named, no requester address (the author is a handle), once however often the event comes."""
from __future__ import annotations

import uuid

from crm_common.entrypoint import dispatch
from crm_service_desk import handlers
from crm_service_desk.domain import tickets
from crm_service_desk.models import Ticket


def asked(ticket_id: str) -> dict:
    return {"id": "mention-1", "ticket_id": ticket_id, "subject": "twitter: @ada_l", "priority": "high",
            "description": "My invoice is wrong\n\n— @ada_l on twitter", "network": "twitter",
            "author_handle": "ada_l", "requested_by": "mk-1"}


def deliver(desk, data):
    envelope = {"event_id": str(uuid.uuid4()), "type": "marketing.mention_ticket_requested.v1", "data": data}
    return desk.run(None, dispatch, envelope, handlers.HANDLERS)


def test_the_desk_opens_the_ticket_marketing_named_once(desk):
    ticket_id = str(uuid.uuid4())
    assert deliver(desk, asked(ticket_id)) is True
    deliver(desk, asked(ticket_id))  # the same request again (another event id): still one ticket
    ticket = desk.run(desk.manager, tickets.get_ticket, ticket_id)
    assert (ticket.channel, ticket.priority, ticket.subject, ticket.status) == ("social", "high", "twitter: @ada_l", "new")
    assert (ticket.requester_email, ticket.requester_name) == (None, "@ada_l (twitter)")
    assert ticket.tags == ["social", "twitter"] and ticket.number.startswith("T-")
    assert desk.query(lambda s: s.query(Ticket).count()) == 1
    assert [e["data"]["id"] for e in desk.events("ticket_opened")] == [ticket_id]


def test_a_ticket_posted_to_the_api_still_needs_a_requester(desk):
    refused = None
    try:
        desk.run(desk.manager, tickets.create_ticket, {"subject": "hi", "channel": "social"})
    except Exception as exc:  # noqa: BLE001 - the ServiceError is what is checked
        refused = exc
    assert getattr(refused, "code", None) == "validation_failed" and "requester_email" in refused.errors
