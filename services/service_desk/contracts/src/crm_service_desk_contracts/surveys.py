"""Satisfaction: CSAT invitations of solved tickets, NPS surveys of contacts, answers by token."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Timestamp
from crm_common.contracts.schemas import ListQuery, Strict, page

from crm_service_desk_contracts.base import QueryFlag, choice, event, ident, required_text, rpc, text

NPS_INVITATIONS_PER_REQUEST = 1000


class SurveyInvitationSchema(Schema):
    id = fields.String()
    kind = fields.String()
    ticket_id = fields.String(allow_none=True)
    survey_id = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    score = fields.Integer(strict=True, allow_none=True)
    comment = fields.String(allow_none=True)
    answered_at = Timestamp(allow_none=True)
    created_at = Timestamp()


class SurveyQuery(ListQuery):
    kind = choice(("csat", "nps"))
    ticket_id = ident()
    survey_id = ident()
    answered = QueryFlag()


class NpsSurveyCreateSchema(Strict):
    RULES = ("contact_ids name at least one existing contact with an email address",)

    name = required_text(200)
    question = text(500, load_default="How likely are you to recommend us to a friend or colleague?")
    contact_ids = fields.List(ident(), required=True, validate=validate.Length(min=1, max=NPS_INVITATIONS_PER_REQUEST),
                              metadata={"description": f"at most {NPS_INVITATIONS_PER_REQUEST} contacts per survey"})


class NpsSurveySchema(Schema):
    id = fields.String()
    kind = fields.String()
    name = fields.String()
    question = fields.String()
    invitations = fields.Integer(strict=True)
    responses = fields.Integer(strict=True)
    promoters = fields.Integer(strict=True)
    passives = fields.Integer(strict=True)
    detractors = fields.Integer(strict=True)
    nps = fields.Float(allow_none=True)
    skipped_contact_ids = fields.List(fields.String())
    created_at = Timestamp()


class SurveyResponseCreateSchema(Strict):
    RULES = ("score is within the survey's scale: 1 to 5 for satisfaction, 0 to 10 for NPS",)

    score = fields.Integer(strict=True, required=True, metadata={"minimum": 0, "maximum": 10})
    comment = text(5000, allow_none=True)


class SurveyResponseSchema(Schema):
    id = fields.String()
    kind = fields.String()
    ticket_id = fields.String(allow_none=True)
    score = fields.Integer(strict=True)
    comment = fields.String(allow_none=True)
    answered_at = Timestamp()


class SurveyTokenSchema(Schema):
    invitation_id = fields.String()
    kind = fields.String()
    email = fields.String(allow_none=True)
    ticket_id = fields.String(allow_none=True)
    survey_id = fields.String(allow_none=True)
    token = fields.String()


class SatisfactionSummarySchema(Schema):
    csat_responses = fields.Integer(strict=True)
    csat_average = fields.Float(allow_none=True)
    csat_satisfied_percent = fields.Float(allow_none=True)
    nps_responses = fields.Integer(strict=True)
    nps = fields.Float(allow_none=True)


class SurveyAnsweredData(Schema):
    id = fields.String(required=True)
    ticket_id = fields.String(allow_none=True)
    score = fields.Integer(strict=True, required=True)
    comment = fields.String(allow_none=True)
    kind = fields.String()
    survey_id = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True)


class NpsSurveyCreatedData(Schema):
    id = fields.String(required=True)
    name = fields.String()
    question = fields.String()
    invitations = fields.List(fields.Dict(), metadata={"description": "{id, contact_id, email} each (tokens come "
                                                                     "from issue_survey_token)"})


SURVEY_ANSWERED = event("survey_answered", SurveyAnsweredData, "A satisfaction survey was answered.", "survey",
                        "update")
NPS_SURVEY_CREATED = event("nps_survey_created", NpsSurveyCreatedData, "An NPS survey was sent to contacts.",
                           "survey", "create")

CREATE_NPS_SURVEY = rpc("create_nps_survey", NpsSurveyCreateSchema, NpsSurveySchema,
                        "An NPS survey to known contacts (survey.create on scope all, checked by the service).",
                        permission=("survey", "create"))
GET_NPS_SURVEY = rpc("get_nps_survey", None, NpsSurveySchema, permission=("survey", "read"), record=True)
LIST_SURVEYS = rpc("list_surveys", SurveyQuery, page(SurveyInvitationSchema, "SurveyInvitationPage"),
                   permission=("survey", "read"))
SATISFACTION_SUMMARY = rpc("satisfaction_summary", None, SatisfactionSummarySchema, permission=("survey", "read"))
RESPOND_SURVEY = rpc("respond_survey", SurveyResponseCreateSchema, SurveyResponseSchema,
                     "Public and token-bound (the call's `token`): answers a survey once; staff callers are refused.")
ISSUE_SURVEY_TOKEN = rpc("issue_survey_token", None, SurveyTokenSchema,
                         "The mailer's (system callers only): a new email token for the invitation `id`; the "
                         "previous email token stops working. Not routed by the gateway.", record=True)
