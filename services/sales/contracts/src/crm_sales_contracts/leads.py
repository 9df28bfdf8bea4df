"""Leads: create, read, change, convert, import (a job); their events and RPCs."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from crm_common.contracts.fields import Boolean, Day, Money, Records, Strings, Timestamp, at_least_one_of, \
    exactly_one_of, existing
from crm_common.contracts.records import CustomListQuery, CustomValues, TagFilter, Tags
from crm_common.contracts.registry import event, rpc
from crm_common.contracts import schemas
from crm_common.contracts.schemas import Patch, Record, Strict, list_query, page
from crm_sales_contracts.accounts import Account, Contact
from crm_sales_contracts.field_types import (EMAIL_RULE, PHONE_RULE, ChangedData, Country, Currency, Email, EntityData,
                                             Id, Name, Phone, TextUpTo)
from crm_sales_contracts.opportunities import Opportunity

LEAD_STATUSES = ("new", "contacted", "qualified", "unqualified", "converted")
LEAD_SOURCES = ("api", "web_form", "import", "referral", "event", "cold_call", "partner", "other")


class LeadFields(Strict):
    RULES = (EMAIL_RULE, PHONE_RULE, "owner_id names someone else only with the lead assign permission")

    first_name = TextUpTo(100, allow_none=True)
    last_name = TextUpTo(100, allow_none=True)
    company = TextUpTo(200, allow_none=True)
    title = TextUpTo(100, allow_none=True)
    email = Email(allow_none=True)
    phone = Phone(allow_none=True)
    country = Country(allow_none=True)
    industry = TextUpTo(100, allow_none=True)
    score = fields.Integer(strict=True, validate=validate.Range(min=0, max=100))
    owner_id = Id(allow_none=True)
    campaign_id = Id(allow_none=True)
    custom_fields = CustomValues(allow_none=True)
    tags = Tags()


class LeadCreate(LeadFields):
    OPENAPI = at_least_one_of(last_name="string", company="string", email="string")

    source = fields.String(load_default="api", validate=validate.OneOf(LEAD_SOURCES))
    force = Boolean(load_default=False, metadata={"description": "create even if duplicates exist (without it, a 409 "
                                                                "lists under `duplicates` those the caller may read "
                                                                "and counts the others in `hidden_duplicates`)"})


class LeadUpdate(LeadFields, Patch):
    RULES = (*LeadFields.RULES, "status becomes converted only by POST /api/v1/leads/{id}/convert")

    status = fields.String(validate=validate.OneOf(LEAD_STATUSES))


class Lead(Record):
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    company = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    industry = fields.String(allow_none=True)
    source = fields.String()
    status = fields.String()
    score = fields.Integer(strict=True)
    owner_id = fields.String(allow_none=True)
    team_id = fields.String(allow_none=True)
    territory_id = fields.String(allow_none=True)
    campaign_id = fields.String(allow_none=True)
    duplicate_of_id = fields.String(allow_none=True)
    assignment_rule = fields.String(allow_none=True)
    converted_at = Timestamp(allow_none=True)
    converted_account_id = fields.String(allow_none=True)
    converted_contact_id = fields.String(allow_none=True)
    converted_opportunity_id = fields.String(allow_none=True)
    custom_fields = CustomValues(allow_none=True)
    tags = Tags()


class LeadFilters(CustomListQuery):  # ?custom.<name>=, sort=custom.<name>
    SORTABLE = ("created_at", "updated_at", "last_name", "company", "score", "status")
    status = fields.String(validate=validate.OneOf(LEAD_STATUSES))
    owner_id = Id()
    territory_id = Id()
    source = fields.String(validate=validate.OneOf(LEAD_SOURCES))
    country = Country()
    industry = TextUpTo(100)
    campaign_id = Id()
    email = fields.String(validate=validate.Length(max=254))
    tag = TagFilter()


LeadListQuery = list_query("LeadListQuery", LeadFilters)
LeadPage = page(Lead, "LeadPage")


class OpportunitySeed(Strict):
    name = Name(required=True)
    amount = Money(required=True, minimum=0)
    currency = Currency(required=True)
    expected_close_date = Day(allow_none=True)


class LeadConvert(Strict):
    RULES = (existing("account_id"),)

    account_id = Id(allow_none=True)
    create_opportunity = fields.Nested(OpportunitySeed, allow_none=True)


class ConvertResult(Schema):
    account = fields.Nested(Account, required=True)
    contact = fields.Nested(Contact, required=True)
    opportunity = fields.Nested(Opportunity, allow_none=True)
    lead = fields.Nested(Lead)


# -- imports -----------------------------------------------------------------------------------------

IMPORT_COLUMNS = ("first_name", "last_name", "company", "title", "email", "phone", "country", "industry", "score",
                  "campaign_id")  # the lead fields an import row may name (the sales service checks each row)


class ImportRow(fields.Dict):
    """One imported lead: lead field names to values; the document names the fields a row may hold."""

    def openapi_properties(self) -> dict:
        return {"properties": {name: {} for name in IMPORT_COLUMNS}, "additionalProperties": False}


class LeadImportRequest(Strict):
    OPENAPI = exactly_one_of(rows="array", csv="string")
    RULES = ("csv has a header row of lead field names and at least one row",)

    rows = fields.List(ImportRow(), validate=validate.Length(min=1, max=200_000))
    csv = fields.String(metadata={"description": "CSV text with a header row of lead field names"})
    force = Boolean(load_default=True, metadata={"description": "import duplicates (linked) or skip them"})

    @validates_schema
    def one_source(self, data, **kwargs):
        if ("rows" in data) == ("csv" in data):
            raise ValidationError("send either rows (a JSON array) or csv (text)", "_schema")


Job = schemas.Job  # a lead import's progress (the kernel's job shape)


# -- events ------------------------------------------------------------------------------------------

class LeadEventData(EntityData):
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    company = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    industry = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    territory_id = fields.String(allow_none=True)
    campaign_id = fields.String(allow_none=True)
    duplicate_of_id = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    score = fields.Integer(allow_none=True)
    custom_fields = CustomValues(allow_none=True)
    tags = fields.List(fields.String())


class LeadUpdatedData(LeadEventData, ChangedData):
    pass


class LeadAssignedData(EntityData):
    owner_id = fields.String(allow_none=True, required=True)
    previous_owner_id = fields.String(allow_none=True, required=True)
    rule = fields.String(required=True)


class LeadConvertedData(EntityData):
    account_id = fields.String(required=True)
    contact_id = fields.String(required=True)
    opportunity_id = fields.String(allow_none=True, required=True)


class LeadsImportedData(Schema):
    job_id = fields.String(required=True)
    ids = Strings(required=True)
    # one dict per id: id, owner_id, team_id, territory_id, status, source, email, company (a Nested schema
    # would cost ~60 µs a lead to validate, more than the rest of an import's work)
    leads = Records(required=True)


LEAD_CREATED = event("sales", "lead_created", 1, LeadEventData, "A lead was created.", entity="lead", action="create")
LEAD_UPDATED = event("sales", "lead_updated", 1, LeadUpdatedData, "A lead changed.", entity="lead", action="update")
LEAD_ASSIGNED = event("sales", "lead_assigned", 1, LeadAssignedData, "A lead got an owner.", entity="lead",
                      action="assign")
LEAD_CONVERTED = event("sales", "lead_converted", 1, LeadConvertedData, "A lead became account, contact, deal.",
                       entity="lead", action="update")
LEADS_IMPORTED = event("sales", "leads_imported", 1, LeadsImportedData,
                       "A batch of an import created these leads (one event per batch; the audit trail has one "
                       "entry per id).", entity="lead", action="create")

# -- RPCs --------------------------------------------------------------------------------------------

LIST_LEADS = rpc("sales", "list_leads", LeadListQuery, LeadPage, permission=("lead", "read"),
                 description="Leads the caller may see: filters, sort, search, a cursor.")
CREATE_LEAD = rpc("sales", "create_lead", LeadCreate, Lead, permission=("lead", "create"),
                  description="Create a lead: duplicates are a 409 listing them unless `force`; it gets an owner.")
GET_LEAD = rpc("sales", "get_lead", None, Lead, permission=("lead", "read"), record=True)
UPDATE_LEAD = rpc("sales", "update_lead", LeadUpdate, Lead, permission=("lead", "update"), record=True)
DELETE_LEAD = rpc("sales", "delete_lead", None, None, permission=("lead", "delete"), record=True)
CONVERT_LEAD = rpc("sales", "convert_lead", LeadConvert, ConvertResult, permission=("lead", "update"), record=True,
                   description="Convert a lead: account (new or linked), contact, optionally an opportunity, in one "
                               "transaction (a converted lead: 409).")
IMPORT_LEADS = rpc("sales", "import_leads", LeadImportRequest, Job, permission=("lead", "create"),
                   description="Import leads from CSV text or JSON rows; runs as a job whose progress GET shows.")
GET_IMPORT = rpc("sales", "get_import", None, Job, permission=("lead", "create"),
                 description="An import job's progress (its `job_id`).")
