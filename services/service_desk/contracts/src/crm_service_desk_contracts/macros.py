"""Macros: canned replies agents put on a ticket, their placeholders filled from the ticket."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Boolean, Text
from crm_common.contracts.schemas import ListQuery, Patch, Record, Strict

from crm_service_desk_contracts.base import crud, ident, required_text, rpc

PLACEHOLDERS = ("{{ ticket.number }}", "{{ ticket.subject }}", "{{ requester.name }}", "{{ agent.name }}")
BODY_RULE = "text with the placeholders " + ", ".join(PLACEHOLDERS) + " and nothing else of Jinja"
MAX_BODY = 20_000


class MacroSchema(Record):
    name = fields.String()
    body = fields.String()
    public = fields.Boolean(metadata={"description": "a public reply (true) or an internal note (false)"})
    team_id = fields.String(allow_none=True, metadata={"description": "shown to this team's members only; "
                                                                      "null: to every agent"})
    created_by = fields.String(allow_none=True)


class MacroCreateSchema(Strict):
    RULES = (BODY_RULE,)

    name = required_text(200)
    body = required_text(MAX_BODY, metadata={"description": BODY_RULE})
    public = Boolean(load_default=True)
    team_id = ident(load_default=None, allow_none=True)


class MacroUpdateSchema(Patch):
    RULES = MacroCreateSchema.RULES

    name = Text(validate=validate.Length(min=1, max=200))
    body = Text(validate=validate.Length(min=1, max=MAX_BODY), metadata={"description": BODY_RULE})
    public = Boolean()
    team_id = ident(allow_none=True)


class MacroQuery(ListQuery):
    SORTABLE = ("created_at", "updated_at", "name")

    team_id = ident()


class RenderedMacro(Schema):
    macro_id = fields.String(required=True)
    ticket_id = fields.String(required=True)
    body = fields.String(required=True, metadata={"description": "the macro's body, its placeholders filled"})
    public = fields.Boolean(required=True)


CREATE_MACRO, LIST_MACROS, GET_MACRO, UPDATE_MACRO, DELETE_MACRO = crud(
    "macro", MacroSchema, MacroCreateSchema, MacroUpdateSchema, MacroQuery)
RENDER_MACRO = rpc("render_macro", None, RenderedMacro,
                   "The macro's body for this ticket (`macro_id`): its placeholders filled from the ticket, the "
                   "requester and the calling agent. Nothing is written.",
                   permission=("macro", "read"), record=True)
