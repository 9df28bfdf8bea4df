"""E-mail templates (`/api/v1/email-templates`): subject, HTML and text parts with placeholders over the
recipient, and the preview of one rendered for one person of the audience.

A template uses data only: placeholders (`{{ contact.first_name|default("there") }}`), a few filters and
`{% if %}`; anything else (calls, loops, assignments, imports, names other than the recipient's fields) is a
422 naming the line. The HTML is sanitised on save: `<style>` blocks are inlined into the elements (mail
clients drop them), then only the tags, attributes and CSS properties a mail needs are kept.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import AT_LEAST_ONE_FIELD, Text
from crm_common.contracts.registry import rpc
from crm_common.contracts.schemas import ListQuery, Patch, Record, Strict, page

READ, CREATE, UPDATE, DELETE = (("email_template", action) for action in ("read", "create", "update", "delete"))
TEMPLATE_RULE = ("subject, html and text are templates of data only: placeholders over contact, account and "
                 "campaign fields, the filters default, upper, lower, title, capitalize, trim, truncate, "
                 "escape, urlencode, round, int, length, first, last, join, and {% if %}; a syntax error or "
                 "anything else is a 422 naming the line, and so is HTML of which sanitising leaves nothing")
SANITISED = ("sanitised on save: <style> blocks inlined into style attributes, then only mail-safe tags, "
             "attributes and CSS properties kept (no script, no event handlers, links http, https or mailto)")
MAX_HTML = 500_000


class TemplateFields(Strict):
    RULES = (TEMPLATE_RULE,)

    name = Text(validate=validate.Length(min=1, max=200))
    subject = Text(validate=validate.Length(min=1, max=500))
    html = Text(validate=validate.Length(min=1, max=MAX_HTML), metadata={"description": SANITISED})
    text = Text(allow_none=True, validate=validate.Length(max=MAX_HTML),
                metadata={"description": "the text/plain part; when null, made from the HTML"})


class TemplateIn(TemplateFields):
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    subject = Text(required=True, validate=validate.Length(min=1, max=500))
    html = Text(required=True, validate=validate.Length(min=1, max=MAX_HTML), metadata={"description": SANITISED})
    text = Text(load_default=None, allow_none=True, validate=validate.Length(max=MAX_HTML),
                metadata={"description": "the text/plain part; when null, made from the HTML"})


class TemplatePatch(TemplateFields, Patch):
    OPENAPI = AT_LEAST_ONE_FIELD


class EmailTemplate(Record):
    """A template (`version` is its ETag; the rendering is cached per id and version)."""

    name = fields.String(required=True)
    subject = fields.String(required=True)
    html = fields.String(required=True)
    text = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)


class TemplateQuery(ListQuery):
    """`?q=` searches names and subjects."""

    SORTABLE = ("created_at", "updated_at", "name")


TemplatePage = page(EmailTemplate, "EmailTemplatePage")


class PreviewIn(Strict):
    RULES = ("contact_id names a contact or lead of the marketing audience (else a 404)",)

    contact_id = fields.String(required=True, validate=validate.Length(min=1, max=36),
                               metadata={"description": "a sales contact's or lead's id"})


class Preview(Schema):
    subject = fields.String(required=True)
    html = fields.String(required=True)
    text = fields.String(required=True)


LIST_EMAIL_TEMPLATES = rpc("marketing", "list_email_templates", TemplateQuery, TemplatePage, permission=READ,
                           description="The templates, newest first; q searches names and subjects.")
CREATE_EMAIL_TEMPLATE = rpc("marketing", "create_email_template", TemplateIn, EmailTemplate, permission=CREATE,
                            description="A template; the HTML is sanitised and every part checked (422 naming "
                                        "the line of a syntax error or of anything but data).")
GET_EMAIL_TEMPLATE = rpc("marketing", "get_email_template", None, EmailTemplate, permission=READ, record=True,
                         description="One template.")
UPDATE_EMAIL_TEMPLATE = rpc("marketing", "update_email_template", TemplatePatch, EmailTemplate, permission=UPDATE,
                            record=True, description="Change a template (409 while a campaign using it is "
                                                     "sending).")
DELETE_EMAIL_TEMPLATE = rpc("marketing", "delete_email_template", None, None, permission=DELETE, record=True,
                            description="Delete a template (409 while a campaign that is not sent or "
                                        "cancelled uses it).")
PREVIEW_EMAIL_TEMPLATE = rpc("marketing", "preview_email_template", PreviewIn, Preview, permission=READ,
                             record=True, description="The template rendered for one person of the audience "
                                                      "(by sales contact or lead id).")
