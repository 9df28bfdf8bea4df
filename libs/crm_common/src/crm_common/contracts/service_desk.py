"""Contracts owned by the service_desk service: its events and RPC schemas.

The same schemas validate at the gateway (HTTP) and in the service (RPC). Values cross RPC through
kombu's JSON (which carries datetime, date and Decimal as typed values) and may be dumped twice
(by the service, then by the gateway), so the timestamp, date and decimal fields here accept both
their Python objects and their wire strings, and dumping a dumped value gives it back unchanged.
"""
from __future__ import annotations

import datetime as dt

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from crm_common.contracts.fields import AT_LEAST_ONE_FIELD, Boolean, Day, DecimalString, at_least_one_of, existing
from crm_common.contracts.platform import PrivacyPartSchema
from crm_common.contracts.registry import FROM_DATA, event, rpc

OWNER = "service_desk"

CHANNELS = ("web", "email", "phone", "chat", "social", "portal")
TYPES = ("question", "incident", "problem", "complaint", "request")
PRIORITIES = ("low", "normal", "high", "urgent")
STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed", "reopened")
GRADES = ("A", "B", "C")
ASSIGNMENT = ("round_robin", "least_loaded", "none")
ARTICLE_STATUSES = ("draft", "published")
CONTRACT_KINDS = ("support", "warranty")
COMPLAINT_STATUSES = ("received", "acknowledged", "resolved")
SEVERITIES = ("low", "normal", "high", "critical")


# -- fields that survive RPC and a second dump ---------------------------------------------------

def rfc3339(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class Timestamp(fields.DateTime):
    """RFC 3339 in UTC on the wire; naive input is taken as UTC."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or isinstance(value, str):
            return value
        return rfc3339(value)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dt.datetime):
            result = value
        else:
            result = super()._deserialize(value, attr, data, **kwargs)
        if result.tzinfo is None:
            result = result.replace(tzinfo=dt.timezone.utc)
        return result.astimezone(dt.timezone.utc)


class Str(fields.String):
    """A string that is valid Unicode (lone surrogates cannot be stored)."""

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        try:
            result.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("not valid Unicode text") from None
        if "\x00" in result:
            raise ValidationError("must not contain NUL characters")
        return result


class EmailStr(Str, fields.Email):
    pass


class QueryFlag(fields.Boolean):
    """A query parameter: true or false."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise self.make_error("invalid")


def _id(**kw):
    return Str(validate=validate.Length(min=1, max=36), **kw)


def _choice(values, **kw):
    return Str(validate=validate.OneOf(values), **kw)


def _text(max_len, **kw):
    return Str(validate=validate.Length(max=max_len), **kw)


def _required_text(max_len, **kw):
    return Str(required=True, validate=validate.Length(min=1, max=max_len), **kw)


class Strict(Schema):
    class Meta:
        unknown = RAISE


class Patch(Strict):
    """A partial update: at least one field."""

    OPENAPI = AT_LEAST_ONE_FIELD

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("send at least one field to change", "_schema")


class PageInput(Strict):
    """Paging of every list RPC (the gateway adds its own strict query parsing on top)."""
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = Str(load_default=None, allow_none=True)
    sort = Str(load_default="-created_at")
    q = Str(load_default=None, allow_none=True, validate=validate.Length(max=200))


def page_of(item: type[Schema], name: str) -> type[Schema]:
    return type(name, (Schema,), {"items": fields.List(fields.Nested(item), required=True),
                                  "next_cursor": Str(allow_none=True)})


class IdInput(Strict):
    id = _id(required=True)


# -- tickets ---------------------------------------------------------------------------------------

Tags = fields.List(Str(validate=validate.Length(min=1, max=50)), validate=validate.Length(max=20))


class TicketSchema(Schema):
    id = Str()
    number = Str()
    subject = Str()
    description = Str()
    channel = Str()
    type = Str()
    priority = Str()
    status = Str()
    requester_email = Str(allow_none=True)
    requester_name = Str(allow_none=True)
    contact_id = Str(allow_none=True)
    account_id = Str(allow_none=True)
    product_id = Str(allow_none=True)
    assignee_id = Str(allow_none=True)
    group_id = Str(allow_none=True)
    tags = fields.List(Str())
    sla_policy_id = Str(allow_none=True)
    service_contract_id = Str(allow_none=True)
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
    survey_token = Str(allow_none=True, metadata={"description": "only on the requester's own portal view of a "
                                                                "solved ticket whose survey is unanswered: a "
                                                                "fresh one-time token each time (the previous "
                                                                "portal token stops working); null elsewhere"})
    created_by = Str(allow_none=True)
    created_at = Timestamp()
    updated_at = Timestamp()
    version = fields.Integer(strict=True)


class TicketCreateSchema(Strict):
    RULES = (existing("contact_id", "account_id", "product_id", "assignee_id", "group_id"),)

    subject = _required_text(300)
    description = _text(20000, load_default="")
    channel = _choice(CHANNELS, load_default="web")
    type = _choice(TYPES, load_default="question")
    priority = _choice(PRIORITIES, load_default="normal")
    requester_email = EmailStr(validate=validate.Length(max=320))
    requester_name = _text(200)
    contact_id = _id()
    account_id = _id()
    product_id = _id()
    assignee_id = _id()
    group_id = _id()
    tags = Tags


class TicketUpdateSchema(Patch):
    RULES = (existing("assignee_id", "group_id", "product_id"),)

    subject = Str(validate=validate.Length(min=1, max=300))
    description = _text(20000)
    type = _choice(TYPES)
    priority = _choice(PRIORITIES)
    status = _choice(STATUSES)
    assignee_id = _id(allow_none=True)
    group_id = _id(allow_none=True)
    tags = Tags
    product_id = _id(allow_none=True)


class TicketFilters(Schema):
    status = _choice(STATUSES)
    priority = _choice(PRIORITIES)
    channel = _choice(CHANNELS)
    type = _choice(TYPES)
    assignee_id = _id()
    group_id = _id()
    account_id = _id()
    contact_id = _id()
    requester_email = Str(validate=validate.Length(max=320))
    tag = Str(validate=validate.Length(max=50))
    sla_breached = QueryFlag()
    number = Str(validate=validate.Length(max=20))


TICKET_SORTABLE = ("created_at", "updated_at", "number")


class TicketListInput(PageInput, TicketFilters):
    pass


class CommentSchema(Schema):
    id = Str()
    ticket_id = Str()
    author_id = Str(allow_none=True)
    author_kind = Str()
    author_name = Str(allow_none=True)
    body = Str()
    public = Boolean()
    created_at = Timestamp()


class CommentCreateSchema(Strict):
    body = _required_text(20000)
    public = Boolean(load_default=True)
    status = _choice(STATUSES, metadata={"description": "change the ticket's status with this reply"})


class CommentListInput(PageInput):
    pass


class TimeLogSchema(Schema):
    id = Str()
    ticket_id = Str()
    user_id = Str(allow_none=True)
    minutes = fields.Integer(strict=True)
    note = Str(allow_none=True)
    service_contract_id = Str(allow_none=True)
    created_at = Timestamp()


class TimeLogCreateSchema(Strict):
    minutes = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=24 * 60))
    note = _text(2000)


# -- groups, agents, routing -----------------------------------------------------------------------

class GroupSchema(Schema):
    id = Str()
    name = Str()
    manager_id = Str(allow_none=True)
    assignment = Str()
    member_ids = fields.List(Str())
    created_at = Timestamp()
    updated_at = Timestamp()
    version = fields.Integer(strict=True)


class GroupCreateSchema(Strict):
    RULES = ("name is unique among groups", existing("manager_id", "member_ids"))

    name = _required_text(200)
    manager_id = _id(allow_none=True)
    assignment = _choice(ASSIGNMENT, load_default="round_robin")
    member_ids = fields.List(_id(), load_default=list, validate=validate.Length(max=500))


class GroupUpdateSchema(Patch):
    RULES = GroupCreateSchema.RULES

    name = Str(validate=validate.Length(min=1, max=200))
    manager_id = _id(allow_none=True)
    assignment = _choice(ASSIGNMENT)
    member_ids = fields.List(_id(), validate=validate.Length(max=500))


class GroupFilters(Schema):
    member_id = _id()


class GroupListInput(PageInput, GroupFilters):
    pass


class AgentSchema(Schema):
    id = Str()
    email = Str(allow_none=True)
    full_name = Str(allow_none=True)
    is_active = Boolean()
    available = Boolean()
    open_tickets = fields.Integer(strict=True)
    group_ids = fields.List(Str())


class AgentUpdateSchema(Strict):
    available = Boolean(required=True)


class AgentListInput(Strict):
    group_id = _id()


class AgentList(Schema):
    items = fields.List(fields.Nested(AgentSchema))


class RoutingRuleSchema(Schema):
    id = Str()
    name = Str()
    position = fields.Integer(strict=True)
    active = Boolean()
    channel = Str(allow_none=True)
    type = Str(allow_none=True)
    priority = Str(allow_none=True)
    account_grade = Str(allow_none=True)
    keywords = fields.List(Str())
    group_id = Str()
    created_at = Timestamp()
    updated_at = Timestamp()
    version = fields.Integer(strict=True)


Keywords = fields.List(Str(validate=validate.Length(min=1, max=100)), validate=validate.Length(max=50))


class RoutingRuleCreateSchema(Strict):
    RULES = (existing("group_id"),)

    name = _required_text(200)
    position = fields.Integer(strict=True, load_default=100, validate=validate.Range(min=0, max=100000))
    active = Boolean(load_default=True)
    channel = _choice(CHANNELS, allow_none=True)
    type = _choice(TYPES, allow_none=True)
    priority = _choice(PRIORITIES, allow_none=True)
    account_grade = _choice(GRADES, allow_none=True)
    keywords = Keywords
    group_id = _id(required=True)


class RoutingRuleUpdateSchema(Patch):
    RULES = (existing("group_id"),)

    name = Str(validate=validate.Length(min=1, max=200))
    position = fields.Integer(strict=True, validate=validate.Range(min=0, max=100000))
    active = Boolean()
    channel = _choice(CHANNELS, allow_none=True)
    type = _choice(TYPES, allow_none=True)
    priority = _choice(PRIORITIES, allow_none=True)
    account_grade = _choice(GRADES, allow_none=True)
    keywords = Keywords
    group_id = _id()


class RoutingRuleListInput(PageInput):
    pass


# -- business hours and SLA ------------------------------------------------------------------------

HHMM = validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$", error="a time as HH:MM")


class IntervalSchema(Strict):
    RULES = ("an interval's start is before its end",)

    weekday = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=6),
                             metadata={"description": "0 is Monday"})
    start = Str(required=True, validate=HHMM)
    end = Str(required=True, validate=HHMM)

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["start"] >= data["end"]:
            raise ValidationError("start must be before end", "end")


class BusinessHoursSchema(Schema):
    id = Str()
    name = Str()
    utc_offset_minutes = fields.Integer(strict=True)
    time_zone = Str(allow_none=True)
    intervals = fields.List(fields.Nested(IntervalSchema))
    holidays = fields.List(Day())
    created_at = Timestamp()
    updated_at = Timestamp()
    version = fields.Integer(strict=True)


class BusinessHoursCreateSchema(Strict):
    RULES = ("time_zone is an IANA time zone", "a time_zone or a utc_offset_minutes, not both")

    name = _required_text(200)
    utc_offset_minutes = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=-14 * 60, max=14 * 60),
                                        metadata={"description": "a fixed offset from UTC (no daylight saving); "
                                                                 "0 when time_zone is given"})
    time_zone = Str(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64),
                    metadata={"description": "an IANA time zone, e.g. Europe/Berlin: local working hours "
                                             "follow its daylight saving"})
    intervals = fields.List(fields.Nested(IntervalSchema), required=True, validate=validate.Length(min=1, max=50))
    holidays = fields.List(Day(), load_default=list, validate=validate.Length(max=1000))


class BusinessHoursUpdateSchema(Patch):
    RULES = BusinessHoursCreateSchema.RULES

    name = Str(validate=validate.Length(min=1, max=200))
    utc_offset_minutes = fields.Integer(strict=True, validate=validate.Range(min=-14 * 60, max=14 * 60))
    time_zone = Str(allow_none=True, validate=validate.Length(min=1, max=64))
    intervals = fields.List(fields.Nested(IntervalSchema), validate=validate.Length(min=1, max=50))
    holidays = fields.List(Day(), validate=validate.Length(max=1000))


class BusinessHoursListInput(PageInput):
    pass


Minutes = fields.Integer(strict=True, validate=validate.Range(min=1, max=365 * 24 * 60))


class SlaPolicySchema(Schema):
    id = Str()
    name = Str()
    priority = Str()
    account_grade = Str(allow_none=True)
    first_response_minutes = fields.Integer(strict=True)
    resolution_minutes = fields.Integer(strict=True)
    business_hours_id = Str(allow_none=True)
    active = Boolean()
    created_at = Timestamp()
    updated_at = Timestamp()
    version = fields.Integer(strict=True)


class SlaPolicyCreateSchema(Strict):
    RULES = (existing("business_hours_id"), "the calendar fits the policy's minutes within ten years")

    name = _required_text(200)
    priority = _choice(PRIORITIES, required=True)
    account_grade = _choice(GRADES, allow_none=True, load_default=None)
    first_response_minutes = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=365 * 24 * 60))
    resolution_minutes = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=365 * 24 * 60))
    business_hours_id = _id(allow_none=True, load_default=None)
    active = Boolean(load_default=True)


class SlaPolicyUpdateSchema(Patch):
    RULES = SlaPolicyCreateSchema.RULES

    name = Str(validate=validate.Length(min=1, max=200))
    priority = _choice(PRIORITIES)
    account_grade = _choice(GRADES, allow_none=True)
    first_response_minutes = fields.Integer(strict=True, validate=validate.Range(min=1, max=365 * 24 * 60))
    resolution_minutes = fields.Integer(strict=True, validate=validate.Range(min=1, max=365 * 24 * 60))
    business_hours_id = _id(allow_none=True)
    active = Boolean()


class SlaPolicyFilters(Schema):
    priority = _choice(PRIORITIES)


class SlaPolicyListInput(PageInput, SlaPolicyFilters):
    pass


class TargetFigures(Schema):
    met = fields.Integer(strict=True)
    breached = fields.Integer(strict=True)
    open = fields.Integer(strict=True)
    compliance_percent = fields.Float(allow_none=True)


class ComplianceSchema(Schema):
    policy_id = Str()
    name = Str()
    priority = Str()
    tickets = fields.Integer(strict=True)
    first_response = fields.Nested(TargetFigures)
    resolution = fields.Nested(TargetFigures)


class ComplianceList(Schema):
    items = fields.List(fields.Nested(ComplianceSchema))


# -- service contracts -------------------------------------------------------------------------------

class ServiceContractSchema(Schema):
    id = Str()
    name = Str()
    kind = Str()
    account_id = Str()
    product_id = Str(allow_none=True)
    starts_on = Day()
    ends_on = Day()
    included_hours = DecimalString(minimum=0, allow_none=True)
    consumed_hours = DecimalString(minimum=0)
    remaining_hours = DecimalString(allow_none=True)
    sla_policy_id = Str(allow_none=True)
    status = Str()
    created_at = Timestamp()
    updated_at = Timestamp()
    version = fields.Integer(strict=True)


class ServiceContractCreateSchema(Strict):
    RULES = ("ends_on is not before starts_on", existing("account_id", "product_id", "sla_policy_id"))

    name = _required_text(200)
    kind = _choice(CONTRACT_KINDS, load_default="support")
    account_id = _id(required=True)
    product_id = _id(allow_none=True, load_default=None)
    starts_on = Day(required=True)
    ends_on = Day(required=True)
    included_hours = DecimalString(minimum=0, allow_none=True, load_default=None)
    sla_policy_id = _id(allow_none=True, load_default=None)

    @validates_schema
    def _dates(self, data, **kwargs):
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            raise ValidationError("ends_on must not be before starts_on", "ends_on")


class ServiceContractUpdateSchema(Patch):
    RULES = ServiceContractCreateSchema.RULES

    name = Str(validate=validate.Length(min=1, max=200))
    product_id = _id(allow_none=True)
    starts_on = Day()
    ends_on = Day()
    included_hours = DecimalString(minimum=0, allow_none=True)
    sla_policy_id = _id(allow_none=True)


class ServiceContractFilters(Schema):
    account_id = _id()
    product_id = _id()
    kind = _choice(CONTRACT_KINDS)


class ServiceContractListInput(PageInput, ServiceContractFilters):
    pass


# -- complaints ------------------------------------------------------------------------------------

class ComplaintSchema(Schema):
    id = Str()
    ticket_id = Str(allow_none=True)
    subject = Str()
    description = Str()
    category = Str(allow_none=True)
    severity = Str()
    requester_email = Str(allow_none=True)
    contact_id = Str(allow_none=True)
    account_id = Str(allow_none=True)
    owner_id = Str(allow_none=True)
    status = Str()
    received_at = Timestamp()
    acknowledgement_due_at = Timestamp()
    acknowledged_at = Timestamp(allow_none=True)
    final_response_due_at = Timestamp()
    resolved_at = Timestamp(allow_none=True)
    root_cause = Str(allow_none=True)
    resolution = Str(allow_none=True)
    compensation_amount = DecimalString(minimum=0, allow_none=True)
    compensation_currency = Str(allow_none=True)
    acknowledgement_overdue = Boolean()
    final_response_overdue = Boolean()
    created_at = Timestamp()
    updated_at = Timestamp()
    version = fields.Integer(strict=True)


Currency = Str(validate=validate.Regexp(r"^[A-Z]{3}$", error="an ISO 4217 code such as EUR"))


class ComplaintCreateSchema(Strict):
    OPENAPI = at_least_one_of(ticket_id="string", subject="string")
    RULES = (existing("ticket_id", "contact_id", "account_id", "owner_id"),
             "a requester_email or contact_id is given without a ticket_id")

    ticket_id = _id()
    subject = Str(validate=validate.Length(min=1, max=300))
    description = _text(20000, load_default="")
    category = _text(100)
    severity = _choice(SEVERITIES, load_default="normal")
    requester_email = EmailStr(validate=validate.Length(max=320))
    contact_id = _id()
    account_id = _id()
    owner_id = _id()


class ComplaintUpdateSchema(Patch):
    RULES = (existing("owner_id"),)

    status = _choice(COMPLAINT_STATUSES)
    category = _text(100, allow_none=True)
    severity = _choice(SEVERITIES)
    owner_id = _id(allow_none=True)
    root_cause = _text(100, allow_none=True)
    resolution = _text(20000, allow_none=True)
    compensation_amount = DecimalString(minimum=0, allow_none=True)
    compensation_currency = Currency


class ComplaintFilters(Schema):
    status = _choice(COMPLAINT_STATUSES)
    category = Str(validate=validate.Length(max=100))
    root_cause = Str(validate=validate.Length(max=100))
    ticket_id = _id()
    overdue = QueryFlag()


class ComplaintListInput(PageInput, ComplaintFilters):
    pass


class CountItem(Schema):
    key = Str(allow_none=True)
    count = fields.Integer(strict=True)


class MoneyTotal(Schema):
    currency = Str()
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


# -- knowledge base --------------------------------------------------------------------------------

class KbArticleSchema(Schema):
    id = Str()
    title = Str()
    body = Str()
    status = Str()
    category = Str(allow_none=True)
    helpful_count = fields.Integer(strict=True)
    not_helpful_count = fields.Integer(strict=True)
    author_id = Str(allow_none=True)
    source_ticket_id = Str(allow_none=True)
    published_at = Timestamp(allow_none=True)
    rank = fields.Float(allow_none=True, metadata={"description": "relevance of a full-text match"})
    created_at = Timestamp()
    updated_at = Timestamp()
    version = fields.Integer(strict=True)


class KbArticleCreateSchema(Strict):
    title = _required_text(300)
    body = _required_text(100000)
    category = _text(100, allow_none=True)
    status = _choice(ARTICLE_STATUSES, load_default="draft")


class KbArticleUpdateSchema(Patch):
    title = Str(validate=validate.Length(min=1, max=300))
    body = Str(validate=validate.Length(min=1, max=100000))
    category = _text(100, allow_none=True)
    status = _choice(ARTICLE_STATUSES)


class KbArticleFilters(Schema):
    status = _choice(ARTICLE_STATUSES)
    category = Str(validate=validate.Length(max=100))


KB_SORTABLE = ("created_at", "updated_at", "helpful_count")


class KbArticleListInput(PageInput, KbArticleFilters):
    pass


class KbVoteSchema(Strict):
    helpful = Boolean(required=True)


class KbArticleList(Schema):
    items = fields.List(fields.Nested(KbArticleSchema))


# -- satisfaction ----------------------------------------------------------------------------------

class SurveyInvitationSchema(Schema):
    id = Str()
    kind = Str()
    ticket_id = Str(allow_none=True)
    survey_id = Str(allow_none=True)
    contact_id = Str(allow_none=True)
    email = Str(allow_none=True)
    score = fields.Integer(strict=True, allow_none=True)
    comment = Str(allow_none=True)
    answered_at = Timestamp(allow_none=True)
    created_at = Timestamp()


class SurveyFilters(Schema):
    kind = _choice(("csat", "nps"))
    ticket_id = _id()
    survey_id = _id()
    answered = QueryFlag()


class SurveyListInput(PageInput, SurveyFilters):
    pass


NPS_INVITATIONS_PER_REQUEST = 1000


class NpsSurveyCreateSchema(Strict):
    RULES = ("contact_ids name at least one existing contact with an email address",)

    name = _required_text(200)
    question = _text(500, load_default="How likely are you to recommend us to a friend or colleague?")
    contact_ids = fields.List(_id(), required=True, validate=validate.Length(min=1, max=NPS_INVITATIONS_PER_REQUEST),
                              metadata={"description": f"at most {NPS_INVITATIONS_PER_REQUEST} contacts per survey"})


class NpsSurveySchema(Schema):
    id = Str()
    kind = Str()
    name = Str()
    question = Str()
    invitations = fields.Integer(strict=True)
    responses = fields.Integer(strict=True)
    promoters = fields.Integer(strict=True)
    passives = fields.Integer(strict=True)
    detractors = fields.Integer(strict=True)
    nps = fields.Float(allow_none=True)
    skipped_contact_ids = fields.List(Str())
    created_at = Timestamp()


class SurveyResponseCreateSchema(Strict):
    RULES = ("score is within the survey's scale: 1 to 5 for satisfaction, 0 to 10 for NPS",)

    score = fields.Integer(strict=True, required=True, metadata={"minimum": 0, "maximum": 10})
    comment = _text(5000, allow_none=True)


class SurveyResponseSchema(Schema):
    id = Str()
    kind = Str()
    ticket_id = Str(allow_none=True)
    score = fields.Integer(strict=True)
    comment = Str(allow_none=True)
    answered_at = Timestamp()


class SurveyTokenInput(Strict):
    invitation_id = _id(required=True)


class SurveyTokenSchema(Schema):
    invitation_id = Str()
    kind = Str()
    email = Str(allow_none=True)
    ticket_id = Str(allow_none=True)
    survey_id = Str(allow_none=True)
    token = Str()


class SatisfactionSummarySchema(Schema):
    csat_responses = fields.Integer(strict=True)
    csat_average = fields.Float(allow_none=True)
    csat_satisfied_percent = fields.Float(allow_none=True)
    nps_responses = fields.Integer(strict=True)
    nps = fields.Float(allow_none=True)


# -- settings and notifications --------------------------------------------------------------------

class DeskSettingsSchema(Schema):
    reopen_days = fields.Integer(strict=True)
    customers_see_account_tickets = Boolean()
    complaint_ack_minutes = fields.Integer(strict=True)
    complaint_final_response_minutes = fields.Integer(strict=True)
    version = fields.Integer(strict=True)


class DeskSettingsUpdateSchema(Patch):
    reopen_days = fields.Integer(strict=True, validate=validate.Range(min=0, max=365))
    customers_see_account_tickets = Boolean()
    complaint_ack_minutes = fields.Integer(strict=True, validate=validate.Range(min=1, max=365 * 24 * 60))
    complaint_final_response_minutes = fields.Integer(strict=True, validate=validate.Range(min=1, max=365 * 24 * 60))


class NotificationSchema(Schema):
    id = Str()
    user_id = Str(allow_none=True)
    ticket_id = Str(allow_none=True)
    kind = Str()
    message = Str()
    created_at = Timestamp()


class NotificationListInput(PageInput):
    pass


# -- events ----------------------------------------------------------------------------------------

class TicketEventData(Schema):
    id = Str(required=True)
    number = Str(required=True)
    status = Str()
    priority = Str()
    channel = Str()
    type = Str()
    requester_email = Str(allow_none=True)
    contact_id = Str(allow_none=True)
    account_id = Str(allow_none=True)
    assignee_id = Str(allow_none=True)
    group_id = Str(allow_none=True)
    sla_policy_id = Str(allow_none=True)
    first_response_due_at = Str(allow_none=True)
    resolution_due_at = Str(allow_none=True)
    first_responded_at = Str(allow_none=True)
    solved_at = Str(allow_none=True)
    closed_at = Str(allow_none=True)
    previous_status = Str(allow_none=True)
    survey_invitation_id = Str(allow_none=True, metadata={"description": "ticket_solved: the CSAT invitation "
                                                                        "to deliver (its token comes from "
                                                                        "issue_survey_token)"})
    changed_fields = fields.List(Str())


class SlaBreachedData(Schema):
    id = Str(required=True)
    number = Str()
    kind = Str(required=True, validate=validate.OneOf(("first_response", "resolution")))
    due_at = Str(required=True)
    breached_at = Str(required=True)
    policy_id = Str(allow_none=True)


class TicketEscalatedData(Schema):
    id = Str(required=True)
    number = Str()
    reason = Str()
    level = fields.Integer(strict=True)
    priority = Str()
    previous_priority = Str()
    manager_id = Str(allow_none=True)
    group_id = Str(allow_none=True)
    changed_fields = fields.List(Str())


class CommentAddedData(Schema):
    id = Str(required=True)
    ticket_id = Str(required=True)
    author_id = Str(allow_none=True)
    author_kind = Str()
    public = Boolean()


class SurveyAnsweredData(Schema):
    id = Str(required=True)
    ticket_id = Str(allow_none=True)
    score = fields.Integer(strict=True, required=True)
    comment = Str(allow_none=True)
    kind = Str()
    survey_id = Str(allow_none=True)
    contact_id = Str(allow_none=True)


class NpsSurveyCreatedData(Schema):
    id = Str(required=True)
    name = Str()
    question = Str()
    invitations = fields.List(fields.Dict(), metadata={"description": "{id, contact_id, email} each (tokens come "
                                                                     "from issue_survey_token)"})


class ComplaintEventData(Schema):
    id = Str(required=True)
    ticket_id = Str(allow_none=True)
    status = Str()
    category = Str(allow_none=True)
    root_cause = Str(allow_none=True)
    compensation_amount = Str(allow_none=True)
    compensation_currency = Str(allow_none=True)
    resolved_at = Str(allow_none=True)
    on_time = Boolean(allow_none=True)
    changed_fields = fields.List(Str())


class KbArticleEventData(Schema):
    id = Str(required=True)
    title = Str()
    category = Str(allow_none=True)
    status = Str()
    source_ticket_id = Str(allow_none=True)
    changed_fields = fields.List(Str())


class ConfigEventData(Schema):
    """Service desk configuration records (groups, rules, calendars, policies, contracts)."""
    entity = Str(required=True, metadata={"description": "group, routing_rule, business_hours, sla_policy or "
                                                         "service_contract"})
    id = Str(required=True)
    name = Str(allow_none=True)
    changed_fields = fields.List(Str())


def _ev(name, schema, description, entity, action):
    return event(OWNER, name, 1, schema, description, entity=entity, action=action)


TICKET_OPENED = _ev("ticket_opened", TicketEventData, "A ticket was opened.", "ticket", "create")
TICKET_UPDATED = _ev("ticket_updated", TicketEventData, "A ticket's fields changed.", "ticket", "update")
TICKET_ASSIGNED = _ev("ticket_assigned", TicketEventData, "A ticket got an assignee or a group.", "ticket", "assign")
TICKET_FIRST_RESPONSE = _ev("ticket_first_response", TicketEventData, "The first public agent reply.", "ticket",
                            "update")
TICKET_SOLVED = _ev("ticket_solved", TicketEventData, "A ticket was solved; names its survey invitation.", "ticket",
                    "update")
TICKET_REOPENED = _ev("ticket_reopened", TicketEventData, "A solved ticket was reopened.", "ticket", "update")
TICKET_CLOSED = _ev("ticket_closed", TicketEventData, "A ticket was closed.", "ticket", "update")
TICKET_DELETED = _ev("ticket_deleted", TicketEventData, "A ticket was soft-deleted.", "ticket", "delete")
SLA_BREACHED = _ev("sla_breached", SlaBreachedData, "A first-response or resolution target was missed.", "ticket",
                   "update")
TICKET_ESCALATED = _ev("ticket_escalated", TicketEscalatedData, "A ticket was escalated.", "ticket", "update")
COMMENT_ADDED = _ev("comment_added", CommentAddedData, "A reply or an internal note was added.", "comment",
                    "create")
SURVEY_ANSWERED = _ev("survey_answered", SurveyAnsweredData, "A satisfaction survey was answered.", "survey",
                      "update")
NPS_SURVEY_CREATED = _ev("nps_survey_created", NpsSurveyCreatedData, "An NPS survey was sent to contacts.",
                         "survey", "create")
COMPLAINT_OPENED = _ev("complaint_opened", ComplaintEventData, "A complaint was received.", "complaint", "create")
COMPLAINT_UPDATED = _ev("complaint_updated", ComplaintEventData, "A complaint changed.", "complaint", "update")
COMPLAINT_RESOLVED = _ev("complaint_resolved", ComplaintEventData, "A complaint got its final response.",
                         "complaint", "update")
KB_ARTICLE_CREATED = _ev("kb_article_created", KbArticleEventData, "A knowledge base article was written.",
                         "kb_article", "create")
KB_ARTICLE_UPDATED = _ev("kb_article_updated", KbArticleEventData, "A knowledge base article changed.",
                         "kb_article", "update")
KB_ARTICLE_PUBLISHED = _ev("kb_article_published", KbArticleEventData, "A knowledge base article was published.",
                           "kb_article", "update")
KB_ARTICLE_DELETED = _ev("kb_article_deleted", KbArticleEventData, "A knowledge base article was deleted.",
                         "kb_article", "delete")
CONFIG_CREATED = _ev("config_created", ConfigEventData, "A group, rule, calendar, policy or contract was created.",
                     FROM_DATA, "create")
CONFIG_UPDATED = _ev("config_updated", ConfigEventData, "A group, rule, calendar, policy or contract changed.",
                     FROM_DATA, "update")
CONFIG_DELETED = _ev("config_deleted", ConfigEventData, "A group, rule, calendar, policy or contract was deleted.",
                     FROM_DATA, "delete")
PRIVACY_PART_COMPLETED = _ev("privacy_part_completed", PrivacyPartSchema,
                             "The service desk's part of a privacy request is done.", "privacy_request", "update")


# -- RPCs ------------------------------------------------------------------------------------------

def _rpc(method, input=None, output=None, description=""):
    return rpc(OWNER, method, input=input, output=output, description=description)


def _crud(name, schema, create, update, list_input, plural=None):
    plural = plural or name + "s"
    return (_rpc(f"create_{name}", create, schema), _rpc(f"list_{plural}", list_input, page_of(schema, f"{schema.__name__}Page")),
            _rpc(f"get_{name}", None, schema), _rpc(f"update_{name}", update, schema), _rpc(f"delete_{name}"))


CREATE_TICKET, LIST_TICKETS, GET_TICKET, UPDATE_TICKET, DELETE_TICKET = _crud(
    "ticket", TicketSchema, TicketCreateSchema, TicketUpdateSchema, TicketListInput)
ADD_COMMENT = _rpc("add_comment", CommentCreateSchema, CommentSchema)
LIST_COMMENTS = _rpc("list_comments", CommentListInput, page_of(CommentSchema, "CommentPage"))
LOG_TIME = _rpc("log_time", TimeLogCreateSchema, TimeLogSchema)
LIST_TIME_LOGS = _rpc("list_time_logs", PageInput, page_of(TimeLogSchema, "TimeLogPage"))
TICKET_SUGGESTIONS = _rpc("ticket_suggestions", None, KbArticleList)
TICKET_TO_ARTICLE = _rpc("ticket_to_article", None, KbArticleSchema)

CREATE_GROUP, LIST_GROUPS, GET_GROUP, UPDATE_GROUP, DELETE_GROUP = _crud(
    "group", GroupSchema, GroupCreateSchema, GroupUpdateSchema, GroupListInput)
LIST_AGENTS = _rpc("list_agents", AgentListInput, AgentList)
UPDATE_AGENT = _rpc("update_agent", AgentUpdateSchema, AgentSchema)
CREATE_ROUTING_RULE, LIST_ROUTING_RULES, GET_ROUTING_RULE, UPDATE_ROUTING_RULE, DELETE_ROUTING_RULE = _crud(
    "routing_rule", RoutingRuleSchema, RoutingRuleCreateSchema, RoutingRuleUpdateSchema, RoutingRuleListInput)
(CREATE_BUSINESS_HOURS, LIST_BUSINESS_HOURS, GET_BUSINESS_HOURS, UPDATE_BUSINESS_HOURS,
 DELETE_BUSINESS_HOURS) = _crud("business_hours", BusinessHoursSchema, BusinessHoursCreateSchema,
                                BusinessHoursUpdateSchema, BusinessHoursListInput, plural="business_hours_list")
CREATE_SLA_POLICY, LIST_SLA_POLICIES, GET_SLA_POLICY, UPDATE_SLA_POLICY, DELETE_SLA_POLICY = _crud(
    "sla_policy", SlaPolicySchema, SlaPolicyCreateSchema, SlaPolicyUpdateSchema, SlaPolicyListInput,
    plural="sla_policies")
SLA_COMPLIANCE = _rpc("sla_compliance", None, ComplianceList)
SCAN_SLA = _rpc("scan_sla", None, None, "Run one breach scan now (operators, tests).")
(CREATE_SERVICE_CONTRACT, LIST_SERVICE_CONTRACTS, GET_SERVICE_CONTRACT, UPDATE_SERVICE_CONTRACT,
 DELETE_SERVICE_CONTRACT) = _crud("service_contract", ServiceContractSchema, ServiceContractCreateSchema,
                                  ServiceContractUpdateSchema, ServiceContractListInput)
CREATE_COMPLAINT = _rpc("create_complaint", ComplaintCreateSchema, ComplaintSchema)
LIST_COMPLAINTS = _rpc("list_complaints", ComplaintListInput, page_of(ComplaintSchema, "ComplaintPage"))
GET_COMPLAINT = _rpc("get_complaint", None, ComplaintSchema)
UPDATE_COMPLAINT = _rpc("update_complaint", ComplaintUpdateSchema, ComplaintSchema)
COMPLAINT_REPORT = _rpc("complaint_report", ComplaintReportInput, ComplaintReportSchema)
CREATE_KB_ARTICLE, LIST_KB_ARTICLES, GET_KB_ARTICLE, UPDATE_KB_ARTICLE, DELETE_KB_ARTICLE = _crud(
    "kb_article", KbArticleSchema, KbArticleCreateSchema, KbArticleUpdateSchema, KbArticleListInput)
VOTE_KB_ARTICLE = _rpc("vote_kb_article", KbVoteSchema, KbArticleSchema)
CREATE_NPS_SURVEY = _rpc("create_nps_survey", NpsSurveyCreateSchema, NpsSurveySchema)
GET_NPS_SURVEY = _rpc("get_nps_survey", None, NpsSurveySchema)
LIST_SURVEYS = _rpc("list_surveys", SurveyListInput, page_of(SurveyInvitationSchema, "SurveyInvitationPage"))
SATISFACTION_SUMMARY = _rpc("satisfaction_summary", None, SatisfactionSummarySchema)
RESPOND_SURVEY = _rpc("respond_survey", SurveyResponseCreateSchema, SurveyResponseSchema,
                      "Public and token-bound: answers a survey once; staff callers are refused.")
ISSUE_SURVEY_TOKEN = _rpc("issue_survey_token", SurveyTokenInput, SurveyTokenSchema,
                          "The mailer's (system callers only): a new email token for an invitation; the "
                          "previous email token stops working. Not routed by the gateway.")
GET_SETTINGS = _rpc("get_settings", None, DeskSettingsSchema)
UPDATE_SETTINGS = _rpc("update_settings", DeskSettingsUpdateSchema, DeskSettingsSchema)
LIST_NOTIFICATIONS = _rpc("list_notifications", NotificationListInput, page_of(NotificationSchema,
                                                                              "NotificationPage"))
