"""Complaints: acknowledgement and final-response deadlines, root cause, resolution, compensation."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Boolean, DecimalString, Text, Timestamp, at_least_one_of, existing
from crm_common.contracts.schemas import ListQuery, Patch, Record, Strict, page

from crm_service_desk_contracts.base import (COMPLAINT_STATUSES, SEVERITIES, EmailText, QueryFlag, choice, event,
                                             ident, rpc, text)


class ComplaintSchema(Record):
    ticket_id = fields.String(allow_none=True)
    subject = fields.String()
    description = fields.String()
    category = fields.String(allow_none=True)
    severity = fields.String()
    requester_email = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    status = fields.String()
    received_at = Timestamp()
    acknowledgement_due_at = Timestamp()
    acknowledged_at = Timestamp(allow_none=True)
    final_response_due_at = Timestamp()
    resolved_at = Timestamp(allow_none=True)
    root_cause = fields.String(allow_none=True)
    resolution = fields.String(allow_none=True)
    compensation_amount = DecimalString(minimum=0, allow_none=True)
    compensation_currency = fields.String(allow_none=True)
    acknowledgement_overdue = Boolean()
    final_response_overdue = Boolean()


Currency = Text(validate=validate.Regexp(r"^[A-Z]{3}$", error="an ISO 4217 code such as EUR"))


class ComplaintCreateSchema(Strict):
    OPENAPI = at_least_one_of(ticket_id="string", subject="string")
    RULES = (existing("ticket_id", "contact_id", "account_id", "owner_id"),
             "a requester_email or contact_id is given without a ticket_id")

    ticket_id = ident()
    subject = Text(validate=validate.Length(min=1, max=300))
    description = text(20000, load_default="")
    category = text(100)
    severity = choice(SEVERITIES, load_default="normal")
    requester_email = EmailText(validate=validate.Length(max=320))
    contact_id = ident()
    account_id = ident()
    owner_id = ident()


class ComplaintUpdateSchema(Patch):
    RULES = (existing("owner_id"),)

    status = choice(COMPLAINT_STATUSES)
    category = text(100, allow_none=True)
    severity = choice(SEVERITIES)
    owner_id = ident(allow_none=True)
    root_cause = text(100, allow_none=True)
    resolution = text(20000, allow_none=True)
    compensation_amount = DecimalString(minimum=0, allow_none=True)
    compensation_currency = Currency


class ComplaintQuery(ListQuery):
    SORTABLE = ("created_at", "updated_at", "final_response_due_at")

    status = choice(COMPLAINT_STATUSES)
    category = Text(validate=validate.Length(max=100))
    root_cause = Text(validate=validate.Length(max=100))
    ticket_id = ident()
    overdue = QueryFlag()


class CountItem(Schema):
    key = fields.String(allow_none=True)
    count = fields.Integer(strict=True)


class MoneyTotal(Schema):
    currency = fields.String()
    total = DecimalString(minimum=0)


class ComplaintReportInput(Strict):
    received_from = Timestamp()
    received_to = Timestamp()


class ComplaintReportSchema(Schema):
    total = fields.Integer(strict=True)
    by_status = fields.List(fields.Nested(CountItem))
    by_category = fields.List(fields.Nested(CountItem))
    by_root_cause = fields.List(fields.Nested(CountItem))
    acknowledgement_overdue = fields.Integer(strict=True)
    final_response_overdue = fields.Integer(strict=True)
    acknowledged_on_time_percent = fields.Float(allow_none=True)
    resolved_on_time_percent = fields.Float(allow_none=True)
    compensation = fields.List(fields.Nested(MoneyTotal))


class ComplaintEventData(Schema):
    id = fields.String(required=True)
    ticket_id = fields.String(allow_none=True)
    status = fields.String()
    category = fields.String(allow_none=True)
    root_cause = fields.String(allow_none=True)
    compensation_amount = fields.String(allow_none=True)
    compensation_currency = fields.String(allow_none=True)
    resolved_at = Timestamp(allow_none=True)
    on_time = Boolean(allow_none=True)
    changed_fields = fields.List(fields.String())


COMPLAINT_OPENED = event("complaint_opened", ComplaintEventData, "A complaint was received.", "complaint", "create")
COMPLAINT_UPDATED = event("complaint_updated", ComplaintEventData, "A complaint changed.", "complaint", "update")
COMPLAINT_RESOLVED = event("complaint_resolved", ComplaintEventData, "A complaint got its final response.",
                           "complaint", "update")

CREATE_COMPLAINT = rpc("create_complaint", ComplaintCreateSchema, ComplaintSchema, permission=("complaint", "create"))
LIST_COMPLAINTS = rpc("list_complaints", ComplaintQuery, page(ComplaintSchema, "ComplaintPage"),
                      permission=("complaint", "read"))
GET_COMPLAINT = rpc("get_complaint", None, ComplaintSchema, permission=("complaint", "read"), record=True)
UPDATE_COMPLAINT = rpc("update_complaint", ComplaintUpdateSchema, ComplaintSchema,
                       permission=("complaint", "update"), record=True)
COMPLAINT_REPORT = rpc("complaint_report", ComplaintReportInput, ComplaintReportSchema,
                       "Complaints received in a period: acknowledged, resolved, compensation per currency.",
                       permission=("complaint", "read"))
