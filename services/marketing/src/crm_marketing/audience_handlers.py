"""The events that keep the audience (domain.audience): sales' leads, contacts, accounts, orders and content
subscriptions (domain.topics), the service desk's tickets and surveys. Each handler declares the fields it reads
(a tolerant reader: fields a producer adds are ignored, a field that is absent from the data leaves the copy as
it was); handlers.HANDLERS lists them.
"""
from __future__ import annotations

from marshmallow import Schema, fields

from crm_common.entrypoint import reads
from crm_marketing.domain import attribution, audience, scoring, topics

LEAD_CREATED, LEAD_UPDATED = "sales.lead_created.v1", "sales.lead_updated.v1"
LEAD_ASSIGNED, LEAD_CONVERTED, LEADS_IMPORTED = ("sales.lead_assigned.v1", "sales.lead_converted.v1",
                                                 "sales.leads_imported.v1")
CONTACT_EVENTS = ("sales.contact_created.v1", "sales.contact_updated.v1", "sales.contact_merged.v1")
ACCOUNT_EVENTS = ("sales.account_created.v1", "sales.account_updated.v1", "sales.account_merged.v1")
RECORD_CHANGED, ORDER_PLACED = "sales.record_changed.v1", "sales.order_placed.v1"
TICKET_OPENED, TICKET_REOPENED = "service_desk.ticket_opened.v1", "service_desk.ticket_reopened.v1"
TICKET_SOLVED, TICKET_CLOSED = "service_desk.ticket_solved.v1", "service_desk.ticket_closed.v1"
SURVEY_ANSWERED = "service_desk.survey_answered.v1"
CONTENT_SUBSCRIPTION_CHANGED = "sales.content_subscription_changed.v1"

Text = fields.String  # every text may be null


class LeadFields(Schema):
    id = Text(required=True)
    first_name = Text(allow_none=True)
    last_name = Text(allow_none=True)
    company = Text(allow_none=True)
    title = Text(allow_none=True)
    email = Text(allow_none=True)
    phone = Text(allow_none=True)
    country = Text(allow_none=True)
    industry = Text(allow_none=True)
    status = Text(allow_none=True)
    owner_id = Text(allow_none=True)
    campaign_id = Text(allow_none=True)
    score = fields.Integer(allow_none=True)
    tags = fields.List(Text(), allow_none=True)


class LeadAssignedFields(Schema):
    id = Text(required=True)
    owner_id = Text(allow_none=True)


class LeadConvertedFields(Schema):
    id = Text(required=True)
    account_id = Text(allow_none=True)
    contact_id = Text(required=True)


class ImportedFields(Schema):
    leads = fields.List(fields.Dict(), required=True)


class ContactFields(Schema):
    id = Text(required=True)
    account_id = Text(allow_none=True)
    first_name = Text(allow_none=True)
    last_name = Text(allow_none=True)
    title = Text(allow_none=True)
    email = Text(allow_none=True)
    phone = Text(allow_none=True)
    owner_id = Text(allow_none=True)
    tags = fields.List(Text(), allow_none=True)
    merged_ids = fields.List(Text())


class AccountFields(Schema):
    id = Text(required=True)
    name = Text(allow_none=True)
    country = Text(allow_none=True)
    industry = Text(allow_none=True)
    grade = Text(allow_none=True)
    lifecycle_stage = Text(allow_none=True)
    merged_ids = fields.List(Text())


class RecordChangedFields(Schema):
    entity = Text(required=True)
    id = Text(required=True)
    action = Text(required=True)


class OrderFields(Schema):
    id = Text(required=True)
    account_id = Text(allow_none=True)
    total = Text(allow_none=True)
    currency = Text(allow_none=True)
    product_ids = fields.List(Text(), allow_none=True)


class TicketFields(Schema):
    id = Text(required=True)
    number = Text(allow_none=True)
    status = Text(allow_none=True)
    requester_email = Text(allow_none=True)
    contact_id = Text(allow_none=True)
    account_id = Text(allow_none=True)


class SurveyFields(Schema):
    id = Text(required=True)
    ticket_id = Text(allow_none=True)
    survey_id = Text(allow_none=True)
    contact_id = Text(allow_none=True)
    kind = Text(allow_none=True)
    score = fields.Integer(required=True)


class ContentSubscriptionFields(Schema):
    contact_id = Text(required=True)
    email = Text(allow_none=True)
    topic = Text(required=True)
    product_id = Text(allow_none=True)
    subscribed = fields.Boolean(required=True)


@reads(LEAD_CREATED, LEAD_UPDATED, fields=LeadFields)
def on_lead(ctx, data: dict, envelope: dict) -> None:
    member = audience.lead_changed(ctx.session, data)
    attribution.lead(ctx, data, envelope)  # campaign stats count a lead by its campaign_id
    if member is not None:
        scoring.rescore(ctx, member.id)  # at once (the sweep would take up to a minute)


@reads(LEAD_ASSIGNED, fields=LeadAssignedFields)
def on_lead_assigned(ctx, data: dict, envelope: dict) -> None:
    audience.lead_assigned(ctx.session, data)


@reads(LEAD_CONVERTED, fields=LeadConvertedFields)
def on_lead_converted(ctx, data: dict, envelope: dict) -> None:
    audience.lead_converted(ctx.session, data)


@reads(LEADS_IMPORTED, fields=ImportedFields)
def on_leads_imported(ctx, data: dict, envelope: dict) -> None:
    """A batch of imported leads: each dict carries what the import set (id, email, company, status, owner_id)."""
    reader = LeadFields(unknown="exclude")
    for lead in data["leads"]:
        if isinstance(lead, dict) and lead.get("id"):
            audience.lead_changed(ctx.session, reader.load(lead))


@reads(*CONTACT_EVENTS, fields=ContactFields)
def on_contact(ctx, data: dict, envelope: dict) -> None:
    audience.contact_changed(ctx.session, data)


@reads(*ACCOUNT_EVENTS, fields=AccountFields)
def on_account(ctx, data: dict, envelope: dict) -> None:
    audience.account_changed(ctx.session, data)


@reads(RECORD_CHANGED, fields=RecordChangedFields)
def on_record_changed(ctx, data: dict, envelope: dict) -> None:
    """A lead or contact deleted in sales leaves the audience; other records and actions are not the audience's."""
    if data["action"] == "delete" and data["entity"] in ("lead", "contact"):
        audience.removed(ctx.session, data["entity"], data["id"])


@reads(ORDER_PLACED, fields=OrderFields)
def on_order_placed(ctx, data: dict, envelope: dict) -> None:
    audience.order_placed(ctx.session, data, envelope)


@reads(TICKET_OPENED, TICKET_REOPENED, TICKET_SOLVED, TICKET_CLOSED, fields=TicketFields)
def on_ticket(ctx, data: dict, envelope: dict) -> None:
    """Opened or reopened: ticket_opened; solved or closed: ticket_solved (`detail.status` says which)."""
    kind = "ticket_opened" if envelope["type"] in (TICKET_OPENED, TICKET_REOPENED) else "ticket_solved"
    audience.ticket(ctx.session, kind, data, envelope)


@reads(SURVEY_ANSWERED, fields=SurveyFields)
def on_survey_answered(ctx, data: dict, envelope: dict) -> None:
    audience.survey_answered(ctx.session, data, envelope)


@reads(CONTENT_SUBSCRIPTION_CHANGED, fields=ContentSubscriptionFields)
def on_content_subscription(ctx, data: dict, envelope: dict) -> None:
    """A contact subscribed to a content topic in sales, or left it: the segments' topic rule reads it."""
    topics.changed(ctx.session, data, envelope)


HANDLED = (on_lead, on_lead_assigned, on_lead_converted, on_leads_imported, on_contact, on_account,
           on_record_changed, on_order_placed, on_ticket, on_survey_answered, on_content_subscription)
