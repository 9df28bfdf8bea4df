"""Web forms (`/api/v1/forms`) and their public submission (`POST /f/{form_id}`, no login).

A form names its fields, the campaign its leads belong to, the consent text shown (and its version),
whether consent is confirmed by mail (double opt-in), where a browser goes afterwards, and a hidden
honeypot field. A submission is checked against the form's fields, then announced
(`marketing.form_submitted.v1`: sales creates or updates the lead) and its consent recorded.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import CURSOR_RULE, Boolean, Strings, Text, existing
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import ListQuery, Patch, Record, Strict, page

FIELD_TYPES = ("text", "email", "phone", "select", "checkbox", "textarea")
NAME = validate.Regexp(r"^[a-z][a-z0-9_]{0,49}$", error="a lower-case name: letters, digits and _ (at most 50)")
READ, CREATE, UPDATE, DELETE = ("form", "read"), ("form", "create"), ("form", "update"), ("form", "delete")
URL_RULE = "redirect_url is an absolute http or https URL"
FORM_RULES = (existing("campaign_id"), URL_RULE,
              "field names are unique; a select field has choices; the honeypot field is none of the fields; "
              "a double opt-in form has an email field")


class FormField(Strict):
    name = Text(required=True, validate=NAME, metadata={"description": "the key of the answer (email, first_name...)"})
    label = Text(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(load_default="text", validate=validate.OneOf(FIELD_TYPES))
    required = Boolean(load_default=False)
    choices = Strings(load_default=list, validate=validate.Length(max=100),
                      metadata={"description": "the options of a select field"})


class FormFieldOut(Schema):
    name = fields.String(required=True)
    label = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(FIELD_TYPES))
    required = Boolean(required=True)
    choices = fields.List(fields.String(), required=True)


def _url(**kw):
    return fields.Url(schemes={"http", "https"}, require_tld=False, validate=validate.Length(max=2000),
                      metadata={"description": URL_RULE}, **kw)


class FormIn(Strict):
    RULES = FORM_RULES

    name = Text(required=True, validate=validate.Length(min=1, max=200))
    fields_ = fields.List(fields.Nested(FormField), data_key="fields", attribute="fields", required=True,
                          validate=validate.Length(min=1, max=50))
    campaign_id = fields.UUID(load_default=None, allow_none=True)
    consent_text = Text(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    consent_text_version = Text(load_default=None, allow_none=True, validate=validate.Length(max=50))
    double_opt_in = Boolean(load_default=False)
    redirect_url = _url(load_default=None, allow_none=True)
    honeypot_field = Text(load_default=None, allow_none=True, validate=NAME)


class FormPatch(Patch):
    RULES = FORM_RULES

    name = Text(validate=validate.Length(min=1, max=200))
    fields_ = fields.List(fields.Nested(FormField), data_key="fields", attribute="fields",
                          validate=validate.Length(min=1, max=50))
    campaign_id = fields.UUID(allow_none=True)
    consent_text = Text(allow_none=True, validate=validate.Length(max=5000))
    consent_text_version = Text(allow_none=True, validate=validate.Length(max=50))
    double_opt_in = Boolean()
    redirect_url = _url(allow_none=True)
    honeypot_field = Text(allow_none=True, validate=NAME)


class Form(Record):
    name = fields.String(required=True)
    fields_ = fields.List(fields.Nested(FormFieldOut), data_key="fields", attribute="fields", required=True)
    campaign_id = fields.String(allow_none=True)
    consent_text = fields.String(allow_none=True)
    consent_text_version = fields.String(allow_none=True)
    double_opt_in = Boolean(required=True)
    redirect_url = fields.String(allow_none=True)
    honeypot_field = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    submit_path = fields.Function(lambda form: f"/f/{form.id}", metadata={"description": "where the form posts (public, no login)"})


class FormQuery(ListQuery):
    SORTABLE = ("created_at", "name")
    RULES = (CURSOR_RULE,)

    campaign_id = fields.UUID()


FormPage = page(Form, "FormPage")


ANSWERS_RULE = ("each answer is checked against the form's field of that name (required, an e-mail address, a "
                "phone number, one of a select's choices, a checkbox ticked or not); a name that is none of the "
                "form's fields is refused")


class SubmissionIn(Strict):
    """The visitor's answers by field name (a form post or a JSON object), as the gateway passes them."""

    RULES = (ANSWERS_RULE,)

    answers = fields.Dict(keys=Text(validate=validate.Length(max=100)), required=True,
                          validate=validate.Length(max=100))
    user_agent = Text(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class SubmissionResult(Schema):
    submission_id = fields.String(required=True)
    redirect_url = fields.String(allow_none=True)


class FormSubmittedData(Schema):
    """Sales reads it to create or update the lead: the answers by field name (email, first_name,
    last_name, company, phone, title, country...) and the campaign of the form."""

    submission_id = fields.String(required=True)
    form_id = fields.String(required=True)
    campaign_id = fields.String(allow_none=True)
    fields_ = fields.Dict(data_key="fields", attribute="fields", required=True)


FORM_SUBMITTED = event("marketing", "form_submitted", 1, FormSubmittedData,
                       "A visitor submitted a web form (sales creates or updates the lead).",
                       entity="form_submission", action="create")

LIST_FORMS = rpc("marketing", "list_forms", FormQuery, FormPage, permission=READ,
                 description="The forms, newest first; filter campaign_id.")
CREATE_FORM = rpc("marketing", "create_form", FormIn, Form, permission=CREATE, description="A new web form.")
GET_FORM = rpc("marketing", "get_form", None, Form, permission=READ, record=True, description="One form.")
UPDATE_FORM = rpc("marketing", "update_form", FormPatch, Form, permission=UPDATE, record=True,
                  description="Change a form (If-Match).")
DELETE_FORM = rpc("marketing", "delete_form", None, None, permission=DELETE, record=True,
                  description="Delete a form: its public address answers 404 from then on.")
SUBMIT_FORM = rpc("marketing", "submit_form", SubmissionIn, SubmissionResult, record=True,
                  description="Public (no role): a visitor's submission of the form `id`.")
