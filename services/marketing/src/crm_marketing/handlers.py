"""What the marketing service does with the events it receives (plain functions, no transport)."""
from __future__ import annotations

from marshmallow import Schema, fields

from crm_common import privacy
from crm_common.entrypoint import handler_table, reads
from crm_marketing.domain import privacy as privacy_parts
from crm_marketing import audience_handlers
from crm_marketing.domain import attribution
from crm_marketing_contracts import PRIVACY_PART_COMPLETED


@reads(privacy.PRIVACY_REQUESTED, fields=privacy.RequestFields)
def privacy_requested(ctx, data: dict, envelope: dict) -> None:
    """Export or erase what marketing holds of an address (every area in domain.privacy.PARTS), then answer identity
    with the marketing part: the data (export only) and the counts."""
    if data["kind"] == "export":
        found, counts = privacy_parts.export(ctx, data["email"])
    elif data["kind"] == "erasure":
        found, counts = None, privacy_parts.erase(ctx, data["email"])
    else:  # a kind this service does not know: answered as failed, so the request does not wait forever
        ctx.emit(PRIVACY_PART_COMPLETED, privacy.part(data, "marketing", status="failed"))
        return
    ctx.emit(PRIVACY_PART_COMPLETED, privacy.part(data, "marketing", data=found, counts=counts))



class OpportunityAttribution(Schema):
    id = fields.String(required=True)
    campaign_id = fields.String(allow_none=True)
    amount = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)
    stage = fields.String(allow_none=True)


@reads("sales.opportunity_created.v1", "sales.opportunity_updated.v1", "sales.opportunity_won.v1",
       "sales.opportunity_lost.v1", fields=OpportunityAttribution)
def opportunity_attributed(ctx, data: dict, envelope: dict) -> None:
    """An opportunity's campaign, amount and outcome (campaign stats count it and its won amount)."""
    attribution.opportunity(ctx, data, envelope)


HANDLERS = handler_table(privacy_requested)
HANDLERS.update(handler_table(*audience_handlers.HANDLED))  # the audience (and a lead's campaign: stats)
HANDLERS.update(handler_table(opportunity_attributed))
