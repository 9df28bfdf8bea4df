"""What the marketing service does with the events it receives (plain functions, no transport)."""
from __future__ import annotations

from marshmallow import Schema, fields

from crm_common import privacy
from crm_common.entrypoint import handler_table, reads
from crm_marketing.domain import audience, scoring
from crm_marketing.domain import privacy as privacy_parts
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


class LeadFields(Schema):
    """What marketing reads of sales' lead events (the audience area's handler replaces this one at merge)."""

    id = fields.String(required=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    company = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    industry = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    campaign_id = fields.String(allow_none=True)


@reads("sales.lead_created.v1", "sales.lead_updated.v1", fields=LeadFields)
def lead_changed(ctx, data: dict, envelope: dict) -> None:
    """Keep the lead's audience member, then rescore the lead at once (scoring.rescore: the interface
    every writer of a lead member or its activity calls)."""
    member = audience.upsert_lead(ctx, data)
    scoring.rescore(ctx, member.id)


HANDLERS = handler_table(privacy_requested, lead_changed)
