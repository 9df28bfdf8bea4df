"""Where a record lives in the console: the page of a resource's record, for the resources that have one
(a notification or an audit entry links to it; anything else is shown without a link)."""
from __future__ import annotations

from flask import url_for

PAGES = {"lead": ("leads.show", "lead_id"), "account": ("accounts.show", "account_id"),
         "contact": ("contacts.show", "contact_id"), "ticket": ("tickets.show", "ticket_id"),
         "quote": ("quotes.show", "quote_id"), "order": ("orders.show", "order_id"),
         "contract": ("contracts.show", "contract_id")}


def record_url(resource: str | None, record_id: str | None) -> str | None:
    page = PAGES.get(resource or "")
    if not page or not record_id:
        return None
    endpoint, argument = page
    return url_for(endpoint, **{argument: record_id})
