"""Tickets and their conversation: replies and notes, time logs, suggested articles."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Boolean, Sort, Text, Timestamp, existing
from crm_common.contracts.records import CustomListQuery, CustomValues
from crm_common.contracts.schemas import ListQuery, Patch, Record, Strict, page

from crm_service_desk_contracts.base import (CHANNELS, PRIORITIES, STATUSES, TYPES, EmailText, QueryFlag, choice,
                                             crud, event, ident, required_text, rpc, text)
from crm_service_desk_contracts.kb import KbArticleList, KbArticleSchema

Tags = fields.List(Text(validate=validate.Length(min=1, max=50)), validate=validate.Length(max=20))


class TicketSchema(Record):
    number = fields.String()
    subject = fields.String()
    description = fields.String()
    channel = fields.String()
    type = fields.String()
    priority = fields.String()
    status = fields.String()
    requester_email = fields.String(allow_none=True)
    requester_name = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)
    product_id = fields.String(allow_none=True)
    assignee_id = fields.String(allow_none=True)
    group_id = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    sla_policy_id = fields.String(allow_none=True)
    service_contract_id = fields.String(allow_none=True)
    entitled = Boolean()
    first_response_due_at = Timestamp(allow_none=True)
    resolution_due_at = Timestamp(allow_none=True)
    first_responded_at = Timestamp(allow_none=True)
    solved_at = Timestamp(allow_none=True)
    closed_at = Timestamp(allow_none=True)
    sla_breached = Boolean()
    sla_paused = Boolean()
    escalation_level = fields.Integer(strict=True)
    reopened_count = fields.Integer(strict=True)
    survey_token = fields.String(allow_none=True, metadata={
        "description": "only on the requester's own portal view of a solved ticket whose survey is unanswered: a "
                       "fresh one-time token each time (the previous portal token stops working); null elsewhere"})
    created_by = fields.String(allow_none=True)
    custom_fields = CustomValues(allow_none=True)


class TicketCreateSchema(Strict):
    RULES = (existing("contact_id", "account_id", "product_id", "assignee_id", "group_id"),)

    subject = required_text(300)
    description = text(20000, load_default="")
    channel = choice(CHANNELS, load_default="web")
    type = choice(TYPES, load_default="question")
    priority = choice(PRIORITIES, load_default="normal")
    requester_email = EmailText(validate=validate.Length(max=320))
    requester_name = text(200)
    contact_id = ident()
    account_id = ident()
    product_id = ident()
    assignee_id = ident()
    group_id = ident()
    tags = Tags
    custom_fields = CustomValues(allow_none=True)


class TicketUpdateSchema(Patch):
    RULES = (existing("assignee_id", "group_id", "product_id"),)

    subject = Text(validate=validate.Length(min=1, max=300))
    description = text(20000)
    type = choice(TYPES)
    priority = choice(PRIORITIES)
    status = choice(STATUSES)
    assignee_id = ident(allow_none=True)
    group_id = ident(allow_none=True)
    tags = Tags
    product_id = ident(allow_none=True)
    custom_fields = CustomValues(allow_none=True)


class TicketQuery(CustomListQuery, ListQuery):  # ?custom.<name>=, sort=custom.<name>
    SORTABLE = ("created_at", "updated_at", "number")

    status = choice(STATUSES)
    priority = choice(PRIORITIES)
    channel = choice(CHANNELS)
    type = choice(TYPES)
    assignee_id = ident()
    group_id = ident()
    account_id = ident()
    contact_id = ident()
    requester_email = Text(validate=validate.Length(max=320))
    tag = Text(validate=validate.Length(max=50))
    sla_breached = QueryFlag()
    number = Text(validate=validate.Length(max=20))


class CommentSchema(Schema):
    id = fields.String()
    ticket_id = fields.String()
    author_id = fields.String(allow_none=True)
    author_kind = fields.String()
    author_name = fields.String(allow_none=True)
    body = fields.String()
    public = Boolean()
    created_at = Timestamp()


class CommentCreateSchema(Strict):
    body = required_text(20000)
    public = Boolean(load_default=True)
    status = choice(STATUSES, metadata={"description": "change the ticket's status with this reply"})


class CommentQuery(ListQuery):
    """The conversation, oldest first unless asked otherwise."""

    sort = Sort(load_default="created_at", metadata={"description": "a field of the list, - first for descending"})


class TimeLogSchema(Schema):
    id = fields.String()
    ticket_id = fields.String()
    user_id = fields.String(allow_none=True)
    minutes = fields.Integer(strict=True)
    note = fields.String(allow_none=True)
    service_contract_id = fields.String(allow_none=True)
    created_at = Timestamp()


class TimeLogCreateSchema(Strict):
    minutes = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=24 * 60))
    note = text(2000)


class TimeLogQuery(ListQuery):
    pass


# -- events ----------------------------------------------------------------------------------------

class TicketEventData(Schema):
    id = fields.String(required=True)
    number = fields.String(required=True)
    status = fields.String()
    priority = fields.String()
    channel = fields.String()
    type = fields.String()
    requester_email = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)
    assignee_id = fields.String(allow_none=True)
    group_id = fields.String(allow_none=True)
    sla_policy_id = fields.String(allow_none=True)
    first_response_due_at = Timestamp(allow_none=True)
    resolution_due_at = Timestamp(allow_none=True)
    first_responded_at = Timestamp(allow_none=True)
    solved_at = Timestamp(allow_none=True)
    closed_at = Timestamp(allow_none=True)
    previous_status = fields.String(allow_none=True)
    survey_invitation_id = fields.String(allow_none=True, metadata={
        "description": "ticket_solved: the CSAT invitation to deliver (its token comes from issue_survey_token)"})
    changed_fields = fields.List(fields.String())
    custom_fields = CustomValues(allow_none=True)


class CommentAddedData(Schema):
    id = fields.String(required=True)
    ticket_id = fields.String(required=True)
    author_id = fields.String(allow_none=True)
    author_kind = fields.String()
    public = Boolean()


TICKET_OPENED = event("ticket_opened", TicketEventData, "A ticket was opened.", "ticket", "create")
TICKET_UPDATED = event("ticket_updated", TicketEventData, "A ticket's fields changed.", "ticket", "update")
TICKET_ASSIGNED = event("ticket_assigned", TicketEventData, "A ticket got an assignee or a group.", "ticket", "assign")
TICKET_FIRST_RESPONSE = event("ticket_first_response", TicketEventData, "The first public agent reply.", "ticket",
                              "update")
TICKET_SOLVED = event("ticket_solved", TicketEventData, "A ticket was solved; names its survey invitation.",
                      "ticket", "update")
TICKET_REOPENED = event("ticket_reopened", TicketEventData, "A solved ticket was reopened.", "ticket", "update")
TICKET_CLOSED = event("ticket_closed", TicketEventData, "A ticket was closed.", "ticket", "update")
TICKET_DELETED = event("ticket_deleted", TicketEventData, "A ticket was soft-deleted.", "ticket", "delete")
COMMENT_ADDED = event("comment_added", CommentAddedData, "A reply or an internal note was added.", "comment",
                      "create")

# -- RPCs (a ticket's conversation acts on the ticket: its id is the call's `id`) -------------------

CREATE_TICKET, LIST_TICKETS, GET_TICKET, UPDATE_TICKET, DELETE_TICKET = crud(
    "ticket", TicketSchema, TicketCreateSchema, TicketUpdateSchema, TicketQuery)
ADD_COMMENT = rpc("add_comment", CommentCreateSchema, CommentSchema, "A public reply or an internal note.",
                  permission=("comment", "create"), record=True)
LIST_COMMENTS = rpc("list_comments", CommentQuery, page(CommentSchema, "CommentPage"),
                    "The conversation (customers see no notes).", permission=("comment", "read"), record=True)
LOG_TIME = rpc("log_time", TimeLogCreateSchema, TimeLogSchema, "Time spent on the ticket.",
               permission=("ticket", "update"), record=True)
LIST_TIME_LOGS = rpc("list_time_logs", TimeLogQuery, page(TimeLogSchema, "TimeLogPage"),
                     permission=("ticket", "update"), record=True)
TICKET_SUGGESTIONS = rpc("ticket_suggestions", None, KbArticleList, "Published articles matching the ticket.",
                         permission=("ticket", "read"), record=True)
TICKET_TO_ARTICLE = rpc("ticket_to_article", None, KbArticleSchema, "A draft article from a solved ticket.",
                        permission=("kb_article", "create"), record=True)
