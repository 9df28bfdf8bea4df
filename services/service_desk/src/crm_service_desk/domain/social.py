"""Tickets opened from social mentions: marketing names the ticket (`marketing.mention_ticket_requested.v1`)
and the desk opens it, channel `social`, once (the mention already keeps the ticket's id)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from crm_service_desk.domain import tickets
from crm_service_desk.models import Ticket

if TYPE_CHECKING:
    from crm_common.context import Context


def open_from_mention(ctx: Context, data: dict) -> Ticket:
    """The ticket of a mention (the one already opened when the event comes again). The author is known by
    handle only: the ticket has no requester address; the handle is its requester name."""
    found = ctx.session.get(Ticket, data["ticket_id"])
    if found is not None:
        return found
    handle = "@" + data["author_handle"].lstrip("@")
    return tickets.open_ticket(ctx, {
        "subject": data["subject"][:300], "description": data["description"], "channel": "social",
        "priority": data["priority"], "requester_name": f"{handle} ({data['network']})"[:200],
        "tags": ["social", data["network"]]}, requester_required=False, ticket_id=data["ticket_id"])
