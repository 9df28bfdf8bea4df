"""Service levels: working-hours calendars, SLA policies, their compliance, the breach scan and the
events of a missed target; warranties and service contracts (the entitlement to support)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from crm_common.contracts.fields import Boolean, Day, DecimalString, Text, Timestamp, existing
from crm_common.contracts.schemas import ListQuery, Patch, Record, Strict

from crm_service_desk_contracts.base import (CONTRACT_KINDS, GRADES, PRIORITIES, choice, crud, event, ident, minutes,
                                             required_text, rpc)
from crm_service_desk_contracts.groups import NAMED

HHMM = validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$", error="a time as HH:MM")
OFFSET = validate.Range(min=-14 * 60, max=14 * 60)


class IntervalSchema(Strict):
    RULES = ("an interval's start is before its end",)

    weekday = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=6),
                             metadata={"description": "0 is Monday"})
    start = Text(required=True, validate=HHMM)
    end = Text(required=True, validate=HHMM)

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["start"] >= data["end"]:
            raise ValidationError("start must be before end", "end")


class BusinessHoursSchema(Record):
    name = fields.String()
    utc_offset_minutes = fields.Integer(strict=True)
    time_zone = fields.String(allow_none=True)
    intervals = fields.List(fields.Nested(IntervalSchema))
    holidays = fields.List(Day())


class BusinessHoursCreateSchema(Strict):
    RULES = ("time_zone is an IANA time zone", "a time_zone or a utc_offset_minutes, not both")

    name = required_text(200)
    utc_offset_minutes = fields.Integer(strict=True, load_default=0, validate=OFFSET,
                                        metadata={"description": "a fixed offset from UTC (no daylight saving); "
                                                                 "0 when time_zone is given"})
    time_zone = Text(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64),
                     metadata={"description": "an IANA time zone, e.g. Europe/Berlin: local working hours "
                                              "follow its daylight saving"})
    intervals = fields.List(fields.Nested(IntervalSchema), required=True, validate=validate.Length(min=1, max=50))
    holidays = fields.List(Day(), load_default=list, validate=validate.Length(max=1000))


class BusinessHoursUpdateSchema(Patch):
    RULES = BusinessHoursCreateSchema.RULES

    name = Text(validate=validate.Length(min=1, max=200))
    utc_offset_minutes = fields.Integer(strict=True, validate=OFFSET)
    time_zone = Text(allow_none=True, validate=validate.Length(min=1, max=64))
    intervals = fields.List(fields.Nested(IntervalSchema), validate=validate.Length(min=1, max=50))
    holidays = fields.List(Day(), validate=validate.Length(max=1000))


class BusinessHoursQuery(ListQuery):
    SORTABLE = NAMED


class SlaPolicySchema(Record):
    name = fields.String()
    priority = fields.String()
    account_grade = fields.String(allow_none=True)
    first_response_minutes = fields.Integer(strict=True)
    resolution_minutes = fields.Integer(strict=True)
    business_hours_id = fields.String(allow_none=True)
    active = Boolean()


class SlaPolicyCreateSchema(Strict):
    RULES = (existing("business_hours_id"), "the calendar fits the policy's minutes within ten years")

    name = required_text(200)
    priority = choice(PRIORITIES, required=True)
    account_grade = choice(GRADES, allow_none=True, load_default=None)
    first_response_minutes = minutes(required=True)
    resolution_minutes = minutes(required=True)
    business_hours_id = ident(allow_none=True, load_default=None)
    active = Boolean(load_default=True)


class SlaPolicyUpdateSchema(Patch):
    RULES = SlaPolicyCreateSchema.RULES

    name = Text(validate=validate.Length(min=1, max=200))
    priority = choice(PRIORITIES)
    account_grade = choice(GRADES, allow_none=True)
    first_response_minutes = minutes()
    resolution_minutes = minutes()
    business_hours_id = ident(allow_none=True)
    active = Boolean()


class SlaPolicyQuery(ListQuery):
    SORTABLE = NAMED

    priority = choice(PRIORITIES)


class TargetFigures(Schema):
    met = fields.Integer(strict=True)
    breached = fields.Integer(strict=True)
    open = fields.Integer(strict=True)
    compliance_percent = fields.Float(allow_none=True)


class ComplianceSchema(Schema):
    policy_id = fields.String()
    name = fields.String()
    priority = fields.String()
    tickets = fields.Integer(strict=True)
    first_response = fields.Nested(TargetFigures)
    resolution = fields.Nested(TargetFigures)


class ComplianceList(Schema):
    items = fields.List(fields.Nested(ComplianceSchema))


class ServiceContractSchema(Record):
    name = fields.String()
    kind = fields.String()
    account_id = fields.String()
    product_id = fields.String(allow_none=True)
    starts_on = Day()
    ends_on = Day()
    included_hours = DecimalString(minimum=0, allow_none=True)
    consumed_hours = DecimalString(minimum=0)
    remaining_hours = DecimalString(allow_none=True)
    sla_policy_id = fields.String(allow_none=True)
    status = fields.String()


class ServiceContractCreateSchema(Strict):
    RULES = ("ends_on is not before starts_on", existing("account_id", "product_id", "sla_policy_id"))

    name = required_text(200)
    kind = choice(CONTRACT_KINDS, load_default="support")
    account_id = ident(required=True)
    product_id = ident(allow_none=True, load_default=None)
    starts_on = Day(required=True)
    ends_on = Day(required=True)
    included_hours = DecimalString(minimum=0, allow_none=True, load_default=None)
    sla_policy_id = ident(allow_none=True, load_default=None)

    @validates_schema
    def _dates(self, data, **kwargs):
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            raise ValidationError("ends_on must not be before starts_on", "ends_on")


class ServiceContractUpdateSchema(Patch):
    RULES = ServiceContractCreateSchema.RULES

    name = Text(validate=validate.Length(min=1, max=200))
    product_id = ident(allow_none=True)
    starts_on = Day()
    ends_on = Day()
    included_hours = DecimalString(minimum=0, allow_none=True)
    sla_policy_id = ident(allow_none=True)


class ServiceContractQuery(ListQuery):
    SORTABLE = ("created_at", "updated_at", "name", "ends_on")

    account_id = ident()
    product_id = ident()
    kind = choice(CONTRACT_KINDS)


class SlaScanSchema(Schema):
    breached_tickets = fields.Integer(strict=True, metadata={"description": "tickets found with a missed target"})


# -- events ----------------------------------------------------------------------------------------

class SlaBreachedData(Schema):
    id = fields.String(required=True)
    number = fields.String()
    kind = fields.String(required=True, validate=validate.OneOf(("first_response", "resolution")))
    due_at = Timestamp(required=True)
    breached_at = Timestamp(required=True)
    policy_id = fields.String(allow_none=True)


class TicketEscalatedData(Schema):
    id = fields.String(required=True)
    number = fields.String()
    reason = fields.String()
    level = fields.Integer(strict=True)
    priority = fields.String()
    previous_priority = fields.String()
    manager_id = fields.String(allow_none=True)
    group_id = fields.String(allow_none=True)
    changed_fields = fields.List(fields.String())


SLA_BREACHED = event("sla_breached", SlaBreachedData, "A first-response or resolution target was missed.", "ticket",
                     "update")
TICKET_ESCALATED = event("ticket_escalated", TicketEscalatedData, "A ticket was escalated.", "ticket", "update")

# -- RPCs ------------------------------------------------------------------------------------------

(CREATE_BUSINESS_HOURS, LIST_BUSINESS_HOURS, GET_BUSINESS_HOURS, UPDATE_BUSINESS_HOURS,
 DELETE_BUSINESS_HOURS) = crud("business_hours", BusinessHoursSchema, BusinessHoursCreateSchema,
                               BusinessHoursUpdateSchema, BusinessHoursQuery, plural="business_hours_list")
CREATE_SLA_POLICY, LIST_SLA_POLICIES, GET_SLA_POLICY, UPDATE_SLA_POLICY, DELETE_SLA_POLICY = crud(
    "sla_policy", SlaPolicySchema, SlaPolicyCreateSchema, SlaPolicyUpdateSchema, SlaPolicyQuery,
    plural="sla_policies")
SLA_COMPLIANCE = rpc("sla_compliance", None, ComplianceList,
                     "Per policy, how many tickets met, missed or still await each target.",
                     permission=("sla_policy", "read"))
SLA_POLICY_COMPLIANCE = rpc("sla_policy_compliance", None, ComplianceList, "sla_compliance of one policy.",
                            permission=("sla_policy", "read"), record=True)
SCAN_SLA = rpc("scan_sla", None, SlaScanSchema, "Run one breach scan now (operators, tests).",
               permission=("sla_policy", "admin"))
(CREATE_SERVICE_CONTRACT, LIST_SERVICE_CONTRACTS, GET_SERVICE_CONTRACT, UPDATE_SERVICE_CONTRACT,
 DELETE_SERVICE_CONTRACT) = crud("service_contract", ServiceContractSchema, ServiceContractCreateSchema,
                                 ServiceContractUpdateSchema, ServiceContractQuery)
