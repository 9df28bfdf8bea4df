"""The customer's whole picture and timeline (`/api/v1/analytics/customers/{account_id}`)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Timestamp
from crm_common.contracts.registry import rpc
from crm_common.contracts.schemas import Strict


class Picture(Schema):
    account = fields.Dict()
    deals = fields.List(fields.Dict(), allow_none=True, metadata={"description": "null: not the caller's to read"})
    orders = fields.List(fields.Dict(), allow_none=True)
    contracts = fields.List(fields.Dict(), allow_none=True)
    tickets = fields.List(fields.Dict(), allow_none=True)
    surveys = fields.List(fields.Dict(), allow_none=True)
    complaints = fields.List(fields.Dict(), allow_none=True)
    campaigns = fields.List(fields.Dict(), allow_none=True)
    totals = fields.Dict()


class TimelineQuery(Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    before = fields.Integer(validate=validate.Range(min=1), metadata={
        "description": "the next_cursor of the previous page"})


class TimelineEntry(Schema):
    at = Timestamp()
    type = fields.String()
    entity = fields.String(allow_none=True)
    entity_id = fields.String(allow_none=True)
    actor_id = fields.String(allow_none=True)
    summary = fields.Dict()


class Timeline(Schema):
    items = fields.List(fields.Nested(TimelineEntry))
    next_cursor = fields.Integer(allow_none=True)


CUSTOMER = rpc("analytics", "customer", None, Picture, permission=("analytics", "read"), record=True,
               description="An account's deals, orders, contracts, tickets, surveys, complaints, campaigns, totals.")
CUSTOMER_TIMELINE = rpc("analytics", "customer_timeline", TimelineQuery, Timeline, permission=("analytics", "read"),
                        record=True, description="An account's events, newest first.")


class ProfileQuery(Strict):
    format = fields.String(load_default="docx", validate=validate.OneOf(("docx", "xlsx")))


class Document(Schema):
    filename = fields.String()
    content_type = fields.String()
    content_base64 = fields.String()


CUSTOMER_PROFILE = rpc("analytics", "customer_profile", ProfileQuery, Document, permission=("analytics", "export"),
                       record=True, description="The account's whole picture as a Word document or Excel workbook.")
