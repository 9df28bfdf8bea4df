"""A quote over the discount limit asks for approval when it is sent (the automation service runs the chain)."""
from __future__ import annotations

from marshmallow import Schema, fields

from crm_common.contracts.registry import event


class QuoteApprovalRequestedData(Schema):
    id = fields.String(required=True)
    owner_id = fields.String(allow_none=True)
    max_discount_percent = fields.String(required=True)
    limit_percent = fields.String(required=True)
    total = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)


QUOTE_APPROVAL_REQUESTED = event("sales", "quote_approval_requested", 1, QuoteApprovalRequestedData,
                                 "A quote with a discount above the limit was sent: it waits for its approval "
                                 "(automation.approval_decided.v1 approves it, and it goes out).",
                                 entity="quote", action="update")
