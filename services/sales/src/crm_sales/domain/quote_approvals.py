"""Quote discounts above the limit go through the general approval mechanism (the automation service).

Sending such a quote before it is approved asks for approval (`sales.quote_approval_requested.v1`, committed)
and still answers 409 `needs_approval`: the quote waits. `automation.approval_decided.v1` for the quote then
approves it and sends it (or, rejected, leaves it a draft to change). A manager's direct approval
(`POST /quotes/{id}/approve`) keeps working as before.
"""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import crm_sales_contracts as c
from crm_common.db import utcnow
from crm_common.errors import ServiceError
from crm_sales.domain import quotes, records, settings
from crm_sales.models import Quote

if TYPE_CHECKING:
    from crm_common.entrypoint import Context


def send(ctx: Context, record_id: str) -> Quote:
    quote = quotes._for_action(ctx, record_id)
    if quote.status == "draft" and quote.needs_approval and not quote.approved_at:
        limit = settings.decimal(ctx.session, "discount_approval_percent")
        top = max(Decimal(line["discount_percent"]) for line in quote.lines)
        ctx.emit(c.QUOTE_APPROVAL_REQUESTED, {"id": quote.id, "owner_id": quote.owner_id,
                                              "max_discount_percent": str(top), "limit_percent": str(limit),
                                              "total": str(quote.total), "currency": quote.currency})

        def refuse():  # after the request committed: the caller learns the quote waits
            raise ServiceError("conflict", f"a discount above {limit}% needs approval before sending; the "
                                           "approval was requested and the quote goes out once it is approved",
                               extra={"needs_approval": True, "approval_requested": True})
        ctx.after_commit(refuse)
        return quote
    return quotes.send(ctx, record_id)


def decided(ctx: Context, data: dict) -> None:
    """The approval of a quote was decided: approved, the waiting quote is approved and sent."""
    if data["resource"] != "quote" or data["status"] != "approved":
        return
    quote = ctx.session.get(Quote, data["record_id"])
    if quote is None or quote.deleted_at is not None or quote.status != "draft" or not quote.needs_approval:
        return
    quote.approved_by, quote.approved_at = data.get("decided_by"), utcnow()
    records.changed(ctx, "quote", quote.id, "approve", ("approved_by", "approved_at"))
    quote.status, quote.sent_at = "sent", utcnow()
    ctx.session.flush()
    ctx.emit(c.QUOTE_SENT, quotes.quote_event(quote))
