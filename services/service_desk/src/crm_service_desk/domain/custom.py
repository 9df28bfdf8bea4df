"""Custom fields and files on tickets (crm_common.records): the ticket's create and update wrapped, the definitions'
RPCs, the attachments' functions (a portal customer reads the files of the tickets they see, their own; staff
within their ticket scope; adding or removing one needs ticket.update on the ticket)."""
from __future__ import annotations

import crm_service_desk_contracts as c
from crm_common.errors import validation
from crm_common.records import adopt, attachments
from crm_common.records import definitions as defs
from crm_service_desk.domain import tickets
from crm_service_desk.domain.visibility import visible_ticket
from crm_service_desk.models import Base, Ticket

definitions = defs.functions(Base.metadata, ("ticket",), c.RECORD_CHANGED)
_create_ticket = adopt.creating(Base.metadata, "ticket", Ticket, tickets.create_ticket)


def create_ticket(ctx, data: dict, *args, **kwargs):
    """Custom fields are the desk's: a portal customer may not send them (their defaults are still filled)."""
    if tickets.is_customer(ctx.caller) and data.get("custom_fields"):
        raise validation({"custom_fields": ["set by the service desk, not by customers"]})
    return _create_ticket(ctx, data, *args, **kwargs)
update_ticket = adopt.updating(Base.metadata, "ticket", Ticket, tickets.update_ticket,
                               lambda ctx, record_id: visible_ticket(ctx.session, ctx.caller, record_id, "update"))

ATTACHMENTS = attachments.functions(
    Base.metadata, "service_desk",
    {"ticket": lambda ctx, record_id, action: visible_ticket(ctx.session, ctx.caller, record_id, action)},
    c.RECORD_CHANGED)
