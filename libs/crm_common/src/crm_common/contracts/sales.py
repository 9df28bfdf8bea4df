"""Contracts owned by the sales service: its events and RPC schemas.

Input schemas validate what the gateway accepts (unknown fields are refused); output schemas are
what the service returns and what /openapi.json documents. Money is a decimal string plus
`currency`; timestamps are RFC 3339 in UTC.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from crm_common.contracts.fields import (Boolean, Day, DecimalString, Records, Strings, at_least_one_of,
                                         exactly_one_of, existing)
from crm_common.contracts.platform import PrivacyPartSchema
from crm_common.contracts.platform import RecordChangedData
from crm_common.contracts.registry import FROM_DATA, event, rpc
from crm_common.envelope import rfc3339

# -- field types --------------------------------------------------------------------------------


class UtcDateTime(fields.DateTime):
    """RFC 3339 in UTC with a `Z`; already formatted strings pass through (RPC results re-dumped)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or isinstance(value, str):
            return value
        return rfc3339(value)

    def _deserialize(self, value, attr, data, **kwargs):
        # the gateway loads the body once; the RPC serializer may hand the service a datetime already
        result = value if isinstance(value, datetime) else super()._deserialize(value, attr, data, **kwargs)
        if result.tzinfo is None:
            raise self.make_error("invalid", input=value, obj_type="datetime with a time zone")
        return result


MAX_MONEY = 10 ** 13  # stays inside Numeric(18, 2) after quantities and sums


def Money(minimum=None, **kw):  # noqa: N802 - a field factory
    """A decimal string with cents, below MAX_MONEY (and at least `minimum` when given)."""
    return DecimalString(validate=validate.Range(min=minimum, max=MAX_MONEY, max_inclusive=False), **kw)


def Percent(**kw):  # noqa: N802
    return DecimalString(validate=validate.Range(min=0, max=100), **kw)


Currency = lambda **kw: fields.String(validate=validate.Regexp(r"^[A-Z]{3}$", error="an ISO 4217 code like EUR"), **kw)  # noqa: E731
Country = lambda **kw: fields.String(validate=validate.Regexp(r"^[A-Z]{2}$", error="an ISO 3166 alpha-2 code like DE"), **kw)  # noqa: E731
Id = lambda **kw: fields.String(validate=validate.Length(min=1, max=36), **kw)  # noqa: E731
Name = lambda n=200, **kw: fields.String(validate=validate.Length(min=1, max=n), **kw)  # noqa: E731
Text = lambda n=200, **kw: fields.String(validate=validate.Length(max=n), **kw)  # noqa: E731
PERIOD_RE = r"^(19|2[0-9])[0-9]{2}(-Q[1-4]|-(0[1-9]|1[0-2]))?$"  # years 1900-2999


class Strict(Schema):
    class Meta:
        unknown = RAISE


class Record(Schema):
    id = fields.String(required=True)
    version = fields.Integer(strict=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class PageQuery(Strict):
    """Paging fields of every list RPC (the gateway adds them from ListArgs)."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, allow_none=True)
    sort = fields.String(load_default="-created_at")
    q = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


def page(item: type[Schema], name: str) -> type[Schema]:
    return type(name, (Schema,), {"items": fields.List(fields.Nested(item), required=True),
                                  "next_cursor": fields.String(allow_none=True)})


def list_query(filters: type[Schema], name: str) -> type[Schema]:
    return type(name, (PageQuery, filters), {})


# -- leads ------------------------------------------------------------------------------------

LEAD_STATUSES = ("new", "contacted", "qualified", "unqualified", "converted")
LEAD_SOURCES = ("api", "web_form", "import", "referral", "event", "cold_call", "partner", "other")


EMAIL_RULE = "email is an address with a deliverable syntax (an empty string clears it)"
PHONE_RULE = "phone is a valid number: international (+49 30 1234567), or national in the record's country"
EMAIL_DOC = {"description": EMAIL_RULE}
PHONE_DOC = {"description": PHONE_RULE + "; stored in E.164"}


class LeadFields(Strict):
    RULES = (EMAIL_RULE, PHONE_RULE, "owner_id names someone else only with the lead assign permission")

    first_name = Text(100, allow_none=True)
    last_name = Text(100, allow_none=True)
    company = Text(200, allow_none=True)
    title = Text(100, allow_none=True)
    email = fields.String(allow_none=True, validate=validate.Length(max=254), metadata=EMAIL_DOC)
    phone = fields.String(allow_none=True, validate=validate.Length(max=40), metadata=PHONE_DOC)
    country = Country(allow_none=True)
    industry = Text(100, allow_none=True)
    score = fields.Integer(strict=True, validate=validate.Range(min=0, max=100))
    owner_id = Id(allow_none=True)
    campaign_id = Id(allow_none=True)


class LeadCreate(LeadFields):
    OPENAPI = at_least_one_of(last_name="string", company="string", email="string")

    source = fields.String(load_default="api", validate=validate.OneOf(LEAD_SOURCES))
    force = Boolean(load_default=False, metadata={"description": "create even if duplicates exist (without it, a 409 "
                                                                "lists under `duplicates` those the caller may read "
                                                                "and counts the others in `hidden_duplicates`)"})


class LeadUpdate(LeadFields):
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
    converted_at = UtcDateTime(allow_none=True)
    converted_account_id = fields.String(allow_none=True)
    converted_contact_id = fields.String(allow_none=True)
    converted_opportunity_id = fields.String(allow_none=True)


class LeadFilters(Schema):
    SORTABLE = ("created_at", "updated_at", "last_name", "company", "score", "status")
    status = fields.String(validate=validate.OneOf(LEAD_STATUSES))
    owner_id = Id()
    territory_id = Id()
    source = fields.String(validate=validate.OneOf(LEAD_SOURCES))
    country = Country()
    industry = Text(100)
    campaign_id = Id()
    email = fields.String(validate=validate.Length(max=254))


LeadListQuery = list_query(LeadFilters, "LeadListQuery")
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


class Job(Schema):
    id = fields.String(required=True)
    kind = fields.String()
    status = fields.String(metadata={"description": "queued, running, done or failed"})
    total = fields.Integer(strict=True)
    processed = fields.Integer(strict=True)
    succeeded = fields.Integer(strict=True)
    failed = fields.Integer(strict=True)
    errors = fields.List(fields.Dict())
    result = fields.Dict(allow_none=True)
    owner_id = fields.String(allow_none=True)
    created_at = UtcDateTime()
    started_at = UtcDateTime(allow_none=True)
    finished_at = UtcDateTime(allow_none=True)


class AssignmentRuleCreate(Strict):
    OPENAPI = at_least_one_of(team_id="string", territory_id="string")
    RULES = (existing("territory_id"),)

    name = Name(required=True)
    priority = fields.Integer(strict=True, load_default=100, validate=validate.Range(min=0, max=100_000))
    strategy = fields.String(required=True, validate=validate.OneOf(("round_robin", "least_loaded")))
    team_id = Id(allow_none=True)
    territory_id = Id(allow_none=True)
    countries = fields.List(Country(), load_default=list)
    industries = fields.List(Text(100), load_default=list)
    source = fields.String(allow_none=True, validate=validate.OneOf(LEAD_SOURCES))
    active = Boolean(load_default=True)

    @validates_schema
    def needs_pool(self, data, **kwargs):
        if not data.get("team_id") and not data.get("territory_id"):
            raise ValidationError("a rule assigns within a team_id or a territory_id", "team_id")


class AssignmentRule(Record):
    name = fields.String()
    priority = fields.Integer(strict=True)
    strategy = fields.String()
    team_id = fields.String(allow_none=True)
    territory_id = fields.String(allow_none=True)
    countries = fields.List(fields.String())
    industries = fields.List(fields.String())
    source = fields.String(allow_none=True)
    active = Boolean()


# -- territories ------------------------------------------------------------------------------


class TerritoryCreate(Strict):
    name = Name(required=True)
    countries = fields.List(Country(), load_default=list)
    industries = fields.List(Text(100), load_default=list)
    member_ids = fields.List(Id(), load_default=list)


class TerritoryUpdate(Strict):
    name = Name()
    countries = fields.List(Country())
    industries = fields.List(Text(100))
    member_ids = fields.List(Id())


class Territory(Record):
    name = fields.String()
    countries = fields.List(fields.String())
    industries = fields.List(fields.String())
    member_ids = fields.List(fields.String())


class TerritoryFilters(Schema):
    SORTABLE = ("created_at", "name")
    country = Country()


class TerritoryMembersData(Schema):
    """A territory's members now: identity counts them in each member's territory scope."""
    id = fields.String(required=True)
    member_ids = fields.List(fields.String(), required=True)
    version = fields.Integer(required=True, metadata={"description": "the territory's version; older news loses"})


TerritoryListQuery = list_query(TerritoryFilters, "TerritoryListQuery")
TerritoryPage = page(Territory, "TerritoryPage")

# -- accounts and contacts ----------------------------------------------------------------------

GRADES = ("A", "B", "C")
LIFECYCLE = ("prospect", "first_purchase", "repeat", "loyal", "churned")
SIZES = ("micro", "small", "medium", "large", "enterprise")


class AccountFields(Strict):
    RULES = (PHONE_RULE, existing("territory_id", "parent_id"), "an account is not its own ancestor")

    name = Name()
    industry = Text(100, allow_none=True)
    size = fields.String(allow_none=True, validate=validate.OneOf(SIZES))
    employees = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0, max=10_000_000))
    website = Text(300, allow_none=True)
    phone = fields.String(allow_none=True, validate=validate.Length(max=40), metadata=PHONE_DOC)
    street = Text(200, allow_none=True)
    city = Text(100, allow_none=True)
    postal_code = Text(20, allow_none=True)
    region = Text(100, allow_none=True)
    country = Country(allow_none=True)
    owner_id = Id(allow_none=True)
    territory_id = Id(allow_none=True)
    parent_id = Id(allow_none=True)


class AccountCreate(AccountFields):
    name = Name(required=True)


class AccountUpdate(AccountFields):
    lifecycle_stage = fields.String(validate=validate.OneOf(("churned", "prospect")),
                                    metadata={"description": "orders drive the stage; churned can be set"})


class Account(Record):
    name = fields.String()
    industry = fields.String(allow_none=True)
    size = fields.String(allow_none=True)
    employees = fields.Integer(strict=True, allow_none=True)
    website = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    street = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    postal_code = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    team_id = fields.String(allow_none=True)
    territory_id = fields.String(allow_none=True)
    parent_id = fields.String(allow_none=True)
    grade = fields.String(allow_none=True)
    lifecycle_stage = fields.String()
    total_value = Money()
    order_count = fields.Integer(strict=True)
    merged_into_id = fields.String(allow_none=True)


class AccountFilters(Schema):
    SORTABLE = ("created_at", "updated_at", "name", "total_value")
    owner_id = Id()
    territory_id = Id()
    parent_id = Id()
    industry = Text(100)
    country = Country()
    grade = fields.String(validate=validate.OneOf(GRADES))
    lifecycle_stage = fields.String(validate=validate.OneOf(LIFECYCLE))


AccountListQuery = list_query(AccountFilters, "AccountListQuery")
AccountPage = page(Account, "AccountPage")


class MergeRequest(Strict):
    RULES = (existing("merge_ids"), "a record is not merged into itself")

    merge_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=20),
                            metadata={"description": "records merged into this one (kept, marked merged)"})


class ContactFields(Strict):
    RULES = (EMAIL_RULE, PHONE_RULE, "owner_id names someone else only with the contact assign permission")

    account_id = Id(allow_none=True)
    first_name = Text(100, allow_none=True)
    last_name = Name(100)
    email = fields.String(allow_none=True, validate=validate.Length(max=254), metadata=EMAIL_DOC)
    phone = fields.String(allow_none=True, validate=validate.Length(max=40), metadata=PHONE_DOC)
    title = Text(100, allow_none=True)
    owner_id = Id(allow_none=True)
    do_not_call = Boolean()
    country = Country(allow_none=True)


class ContactCreate(ContactFields):
    last_name = Name(100, required=True)


class ContactUpdate(ContactFields):
    pass


class Contact(Record):
    account_id = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    team_id = fields.String(allow_none=True)
    territory_id = fields.String(allow_none=True)
    do_not_call = Boolean()
    country = fields.String(allow_none=True)
    lead_id = fields.String(allow_none=True)
    merged_into_id = fields.String(allow_none=True)


class ContactFilters(Schema):
    SORTABLE = ("created_at", "updated_at", "last_name")
    account_id = Id()
    owner_id = Id()
    email = fields.String(validate=validate.Length(max=254))
    do_not_call = fields.Boolean()


ContactListQuery = list_query(ContactFilters, "ContactListQuery")
ContactPage = page(Contact, "ContactPage")


class ConvertResult(Schema):
    account = fields.Nested(Account, required=True)
    contact = fields.Nested(Contact, required=True)
    opportunity = fields.Nested(lambda: Opportunity(), allow_none=True)
    lead = fields.Nested(Lead)


# -- opportunities ------------------------------------------------------------------------------

DEFAULT_STAGES = (("prospecting", 10), ("qualification", 20), ("proposal", 50), ("negotiation", 75),
                  ("closed_won", 100), ("closed_lost", 0))


STAGE_NAME = validate.Regexp(r"^[a-z][a-z0-9_]{0,49}$", error="a stage name: lower-case letters, digits and _")


class OpportunityFields(Strict):
    RULES = ("stage is a stage of the deal's pipeline", "closed_lost needs a lost_reason",
             existing("account_id", "contact_id", "pipeline_id"), "contact_id is a contact of account_id")

    name = Name()
    account_id = Id(allow_none=True)
    contact_id = Id(allow_none=True)
    owner_id = Id(allow_none=True)
    amount = Money(minimum=0)
    currency = Currency()
    stage = fields.String(validate=STAGE_NAME, metadata={
        "description": "a stage of the deal's pipeline; the default pipeline's: "
                       + ", ".join(name for name, _ in DEFAULT_STAGES)})
    probability = fields.Integer(strict=True, validate=validate.Range(min=0, max=100))
    expected_close_date = Day(allow_none=True)
    lost_reason = Text(500, allow_none=True)
    campaign_id = Id(allow_none=True)
    forecast_category = fields.String(validate=validate.OneOf(("pipeline", "best_case", "commit", "omitted")))


class OpportunityCreate(OpportunityFields):
    name = Name(required=True)
    amount = Money(required=True, minimum=0)
    currency = Currency(required=True)
    pipeline_id = Id(allow_none=True)


class OpportunityUpdate(OpportunityFields):
    pass


class Opportunity(Record):
    name = fields.String()
    account_id = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    team_id = fields.String(allow_none=True)
    territory_id = fields.String(allow_none=True)
    amount = Money()
    currency = fields.String()
    pipeline_id = fields.String(allow_none=True)
    stage = fields.String()
    probability = fields.Integer(strict=True)
    forecast_category = fields.String()
    expected_close_date = Day(allow_none=True)
    lost_reason = fields.String(allow_none=True)
    campaign_id = fields.String(allow_none=True)
    closed_at = UtcDateTime(allow_none=True)
    stage_entered_at = UtcDateTime()
    lead_id = fields.String(allow_none=True)


class OpportunityFilters(Schema):
    SORTABLE = ("created_at", "updated_at", "amount", "expected_close_date", "name")
    stage = fields.String(validate=validate.Length(max=50))
    owner_id = Id()
    account_id = Id()
    territory_id = Id()
    campaign_id = Id()


OpportunityListQuery = list_query(OpportunityFilters, "OpportunityListQuery")
OpportunityPage = page(Opportunity, "OpportunityPage")


class HistoryEntry(Schema):
    stage = fields.String()
    probability = fields.Integer(strict=True)
    amount = Money(allow_none=True)
    changed_at = UtcDateTime()
    changed_by = fields.String(allow_none=True)
    left_at = UtcDateTime(allow_none=True)
    seconds_in_stage = fields.Integer(strict=True, metadata={"description": "time spent in the stage (so far, if current)"})


class History(Schema):
    items = fields.List(fields.Nested(HistoryEntry))


class StageDef(Strict):
    name = fields.String(required=True, validate=STAGE_NAME)
    probability = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=100))


class PipelineCreate(Strict):
    RULES = ("stage names are unique", "the stages include closed_won and closed_lost")

    name = Name(required=True)
    stages = fields.List(fields.Nested(StageDef), required=True, validate=validate.Length(min=2, max=30))

    @validates_schema
    def closed_stages(self, data, **kwargs):
        names = [s["name"] for s in data.get("stages", [])]
        if len(set(names)) != len(names):
            raise ValidationError("stage names must be unique", "stages")
        if "closed_won" not in names or "closed_lost" not in names:
            raise ValidationError("a pipeline needs closed_won and closed_lost stages", "stages")


class Pipeline(Record):
    name = fields.String()
    stages = fields.List(fields.Dict())


class PipelineList(Schema):
    items = fields.List(fields.Nested(Pipeline))


# -- products, quotes, orders, contracts ---------------------------------------------------------

QUOTE_STATUSES = ("draft", "sent", "accepted", "rejected")
ORDER_STATUSES = ("placed", "confirmed", "shipped", "delivered", "cancelled")
CONTRACT_STATUSES = ("draft", "signed", "active", "expired", "terminated")


class ProductCreate(Strict):
    name = Name(required=True)
    sku = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9._-]{1,60}$"))
    description = Text(2000, allow_none=True)
    unit_price = Money(required=True, minimum=0)
    currency = Currency(required=True)
    active = Boolean(load_default=True)


class ProductUpdate(Strict):
    name = Name()
    description = Text(2000, allow_none=True)
    unit_price = Money(minimum=0)
    currency = Currency()
    active = Boolean()


class Product(Record):
    name = fields.String()
    sku = fields.String()
    description = fields.String(allow_none=True)
    unit_price = Money()
    currency = fields.String()
    active = Boolean()


class ProductFilters(Schema):
    SORTABLE = ("created_at", "name", "sku", "unit_price")
    active = fields.Boolean()
    currency = Currency()
    sku = fields.String(validate=validate.Length(max=60))


ProductListQuery = list_query(ProductFilters, "ProductListQuery")
ProductPage = page(Product, "ProductPage")


class QuoteLineInput(Strict):
    RULES = (existing("product_id") + " (an active product)",)

    product_id = Id(allow_none=True)
    description = Text(500, allow_none=True)
    quantity = DecimalString(places=3, required=True, validate=validate.Range(min=0, min_inclusive=False, max=1_000_000))
    unit_price = Money(minimum=0, metadata={"description": "defaults to the product's price"})
    discount_percent = Percent(load_default="0")


class QuoteLine(Schema):
    product_id = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    quantity = fields.String()
    unit_price = fields.String()
    discount_percent = fields.String()
    discount_amount = fields.String()
    line_total = fields.String()


class QuoteCreate(Strict):
    RULES = (existing("opportunity_id"), "a line without a product_id has a unit_price and a description",
             "the quote's total stays below 10000000000000")

    opportunity_id = Id(allow_none=True)
    account_id = Id(allow_none=True)
    currency = Currency(required=True)
    tax_percent = Percent(load_default="0")
    valid_until = Day(allow_none=True)
    terms = Text(5000, allow_none=True)
    lines = fields.List(fields.Nested(QuoteLineInput), required=True, validate=validate.Length(min=1, max=200))


class QuoteUpdate(Strict):
    tax_percent = Percent()
    valid_until = Day(allow_none=True)
    terms = Text(5000, allow_none=True)
    lines = fields.List(fields.Nested(QuoteLineInput), validate=validate.Length(min=1, max=200))


class Quote(Record):
    opportunity_id = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    currency = fields.String()
    status = fields.String()
    lines = fields.List(fields.Nested(QuoteLine))
    tax_percent = DecimalString()
    subtotal = Money()
    discount_total = Money()
    tax_total = Money()
    total = Money()
    needs_approval = Boolean()
    approved_by = fields.String(allow_none=True)
    approved_at = UtcDateTime(allow_none=True)
    sent_at = UtcDateTime(allow_none=True)
    accepted_at = UtcDateTime(allow_none=True)
    valid_until = Day(allow_none=True)
    terms = fields.String(allow_none=True)
    order_id = fields.String(allow_none=True)


class QuoteFilters(Schema):
    SORTABLE = ("created_at", "total")
    status = fields.String(validate=validate.OneOf(QUOTE_STATUSES))
    account_id = Id()
    opportunity_id = Id()
    owner_id = Id()


QuoteListQuery = list_query(QuoteFilters, "QuoteListQuery")
QuotePage = page(Quote, "QuotePage")


class Order(Record):
    quote_id = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)
    opportunity_id = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    status = fields.String()
    total = Money()
    currency = fields.String()
    lines = fields.List(fields.Nested(QuoteLine))
    placed_at = UtcDateTime()


class OrderUpdate(Strict):
    status = fields.String(required=True, validate=validate.OneOf(ORDER_STATUSES))


class OrderFilters(Schema):
    SORTABLE = ("created_at", "placed_at", "total")
    status = fields.String(validate=validate.OneOf(ORDER_STATUSES))
    account_id = Id()
    owner_id = Id()


OrderListQuery = list_query(OrderFilters, "OrderListQuery")
OrderPage = page(Order, "OrderPage")


class ContractCreate(Strict):
    OPENAPI = at_least_one_of(order_id="string", opportunity_id="string", account_id="string")
    RULES = ("ends_on is after starts_on", existing("order_id", "opportunity_id"),
             "value and currency are given, or taken from the order or opportunity")

    account_id = Id(allow_none=True)
    order_id = Id(allow_none=True)
    opportunity_id = Id(allow_none=True)
    starts_on = Day(required=True)
    ends_on = Day(required=True)
    value = Money(minimum=0, metadata={"description": "defaults to the order's or deal's"})
    currency = Currency()
    terms = Text(20000, allow_none=True)
    renewal_notice_days = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=3650))

    @validates_schema
    def dates(self, data, **kwargs):
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] <= data["starts_on"]:
            raise ValidationError("ends after it starts", "ends_on")
        if not data.get("order_id") and not data.get("opportunity_id") and not data.get("account_id"):
            raise ValidationError("a contract comes from an order_id or an opportunity_id (or names an account_id)",
                                  "order_id")


class ContractUpdate(Strict):
    RULES = ("ends_on is after starts_on",)

    status = fields.String(validate=validate.OneOf(CONTRACT_STATUSES))
    starts_on = Day()
    ends_on = Day()
    terms = Text(20000, allow_none=True)
    renewal_notice_days = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=3650))


class Contract(Record):
    account_id = fields.String(allow_none=True)
    order_id = fields.String(allow_none=True)
    opportunity_id = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    status = fields.String()
    starts_on = Day()
    ends_on = Day()
    value = Money()
    currency = fields.String()
    terms = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(QuoteLine))
    renewal_notice_days = fields.Integer(strict=True, allow_none=True)
    reminder_activity_id = fields.String(allow_none=True)
    signed_at = UtcDateTime(allow_none=True)


class ContractFilters(Schema):
    SORTABLE = ("created_at", "ends_on", "value")
    status = fields.String(validate=validate.OneOf(CONTRACT_STATUSES))
    account_id = Id()
    owner_id = Id()


ContractListQuery = list_query(ContractFilters, "ContractListQuery")
ContractPage = page(Contract, "ContractPage")


class Document(Schema):
    filename = fields.String()
    content_type = fields.String()
    content_base64 = fields.String()


# -- activities, calendar, call lists -------------------------------------------------------------

ACTIVITY_TYPES = ("call", "meeting", "task", "note")
ACTIVITY_STATUSES = ("open", "done", "cancelled")
CALL_OUTCOMES = ("connected", "no_answer", "voicemail", "busy", "wrong_number", "callback_requested",
                 "not_interested", "interested")


class ActivityFields(Strict):
    RULES = ("ends_at is after starts_at", "a meeting has starts_at and ends_at, a task a due_at",
             "outcome, duration_seconds and callback_at are for calls; remind_at for calls, meetings and tasks",
             "owner_id names someone else only with the activity assign permission")

    subject = Name(300)
    description = Text(10000, allow_none=True)
    starts_at = UtcDateTime(allow_none=True)
    ends_at = UtcDateTime(allow_none=True)
    due_at = UtcDateTime(allow_none=True)
    remind_at = UtcDateTime(allow_none=True)
    owner_id = Id(allow_none=True)
    participant_ids = fields.List(Id(), validate=validate.Length(max=100))
    lead_id = Id(allow_none=True)
    account_id = Id(allow_none=True)
    contact_id = Id(allow_none=True)
    opportunity_id = Id(allow_none=True)
    status = fields.String(validate=validate.OneOf(ACTIVITY_STATUSES))
    outcome = fields.String(allow_none=True, validate=validate.OneOf(CALL_OUTCOMES))
    duration_seconds = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0, max=86400))
    callback_at = UtcDateTime(allow_none=True, metadata={"description": "a call: schedules a follow-up call"})
    allow_conflict = Boolean(load_default=False)


class ActivityCreate(ActivityFields):
    type = fields.String(required=True, validate=validate.OneOf(ACTIVITY_TYPES))
    subject = Name(300, required=True)


class ActivityUpdate(ActivityFields):
    pass


class Activity(Record):
    type = fields.String()
    subject = fields.String()
    description = fields.String(allow_none=True)
    starts_at = UtcDateTime(allow_none=True)
    ends_at = UtcDateTime(allow_none=True)
    due_at = UtcDateTime(allow_none=True)
    remind_at = UtcDateTime(allow_none=True)
    reminded_at = UtcDateTime(allow_none=True, metadata={"description": "when the reminder went out (null: not yet)"})
    owner_id = fields.String(allow_none=True)
    participant_ids = fields.List(fields.String())
    lead_id = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True)
    opportunity_id = fields.String(allow_none=True)
    contract_id = fields.String(allow_none=True)
    call_list_id = fields.String(allow_none=True)
    status = fields.String()
    outcome = fields.String(allow_none=True)
    duration_seconds = fields.Integer(strict=True, allow_none=True)
    callback_at = UtcDateTime(allow_none=True)


class ActivityFilters(Schema):
    SORTABLE = ("created_at", "starts_at", "due_at")
    type = fields.String(validate=validate.OneOf(ACTIVITY_TYPES))
    status = fields.String(validate=validate.OneOf(ACTIVITY_STATUSES))
    owner_id = Id()
    lead_id = Id()
    account_id = Id()
    contact_id = Id()
    opportunity_id = Id()


ActivityListQuery = list_query(ActivityFilters, "ActivityListQuery")
ActivityPage = page(Activity, "ActivityPage")


class CalendarQuery(Strict):
    RULES = ("to is after from, within a year",)

    user_id = Id()
    team_id = Id()
    start = UtcDateTime(required=True, data_key="from")
    end = UtcDateTime(required=True, data_key="to")

    @validates_schema
    def window(self, data, **kwargs):
        if data.get("start") and data.get("end") and not (
                data["start"] < data["end"] and (data["end"] - data["start"]).days <= 366):
            raise ValidationError("to is after from, within a year", "to")


class Calendar(Schema):
    items = fields.List(fields.Nested(Activity))


class CallListCreate(Strict):
    OPENAPI = at_least_one_of(contact_ids="array", account_id="string")
    RULES = (existing("contact_ids", "account_id"), "owner_id names someone else only with the call list assign "
                                                    "permission")

    name = Name(required=True)
    owner_id = Id(allow_none=True, metadata={"description": "the rep who makes the calls"})
    contact_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=5000))
    account_id = Id(allow_none=True, metadata={"description": "add every contact of this account"})


class CallListItem(Schema):
    contact_id = fields.String()
    status = fields.String()
    outcome = fields.String(allow_none=True)
    activity_id = fields.String(allow_none=True)


class CallList(Record):
    name = fields.String()
    owner_id = fields.String(allow_none=True)
    items = fields.List(fields.Nested(CallListItem))
    skipped = fields.List(fields.Dict())


class CallLog(Strict):
    RULES = ("contact_id is on the call list",)

    contact_id = Id(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(CALL_OUTCOMES))
    duration_seconds = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0, max=86400))
    description = Text(10000, allow_none=True)
    callback_at = UtcDateTime(allow_none=True)


class CallListFilters(Schema):
    SORTABLE = ("created_at", "name")
    owner_id = Id()


CallListQuery = list_query(CallListFilters, "CallListQuery")
CallListPage = page(CallList, "CallListPage")


# -- targets, forecast, commissions, expenses ----------------------------------------------------


class TargetCreate(Strict):
    OPENAPI = exactly_one_of(user_id="string", team_id="string", territory_id="string")
    RULES = (existing("territory_id"), "a manager sets targets only for their own team's users")

    period = fields.String(required=True, validate=validate.Regexp(PERIOD_RE, error="like 2026-Q4, 2026-11 or 2026"))
    user_id = Id(allow_none=True)
    team_id = Id(allow_none=True)
    territory_id = Id(allow_none=True)
    amount = Money(required=True, minimum=0)
    currency = Currency(required=True)

    @validates_schema
    def one_holder(self, data, **kwargs):
        if sum(1 for k in ("user_id", "team_id", "territory_id") if data.get(k)) != 1:
            raise ValidationError("a target is for exactly one of user_id, team_id, territory_id", "user_id")


class TargetUpdate(Strict):
    amount = Money(minimum=0)


class Target(Record):
    period = fields.String()
    user_id = fields.String(allow_none=True)
    team_id = fields.String(allow_none=True)
    territory_id = fields.String(allow_none=True)
    amount = Money()
    currency = fields.String()


class TargetFilters(Schema):
    SORTABLE = ("created_at", "period")
    period = fields.String(validate=validate.Regexp(PERIOD_RE))
    user_id = Id()
    team_id = Id()
    territory_id = Id()


TargetListQuery = list_query(TargetFilters, "TargetListQuery")
TargetPage = page(Target, "TargetPage")


class ForecastQuery(Strict):
    period = fields.String(required=True, validate=validate.Regexp(PERIOD_RE, error="like 2026-Q4, 2026-11 or 2026"))
    group_by = fields.String(load_default="owner", validate=validate.OneOf(("owner", "team", "territory")))
    currency = Currency(load_default="EUR", metadata={"description": "deals and targets in this currency"})


class ForecastFigures(Schema):
    key = fields.String(allow_none=True)
    pipeline = fields.String()
    weighted = fields.String()
    commit = fields.String()
    closed_won = fields.String()
    target = fields.String(allow_none=True)
    attainment = fields.String(allow_none=True, metadata={"description": "closed_won / target in percent"})


class Forecast(Schema):
    period = fields.String()
    group_by = fields.String()
    currency = fields.String()
    groups = fields.List(fields.Nested(ForecastFigures))
    totals = fields.Nested(ForecastFigures)


class CommissionQuery(Strict):
    period = fields.String(required=True, validate=validate.Regexp(PERIOD_RE, error="like 2026-Q4, 2026-11 or 2026"))
    owner_id = Id()
    currency = Currency(load_default="EUR")


class CommissionLine(Schema):
    owner_id = fields.String()
    closed_won = fields.String()
    deals = fields.Integer(strict=True)
    rate_percent = fields.String()
    commission = fields.String()
    currency = fields.String()


class Commissions(Schema):
    period = fields.String()
    items = fields.List(fields.Nested(CommissionLine))


EXPENSE_STATUSES = ("submitted", "approved", "rejected")


class ExpenseCreate(Strict):
    amount = Money(required=True, minimum=Decimal("0.01"))
    currency = Currency(required=True)
    category = fields.String(required=True, validate=validate.OneOf(("travel", "meals", "lodging", "mileage",
                                                                     "entertainment", "other")))
    description = Text(2000, allow_none=True)
    incurred_on = Day(required=True)


class ExpenseUpdate(Strict):
    amount = Money(minimum=Decimal("0.01"))
    currency = Currency()
    category = fields.String(validate=validate.OneOf(("travel", "meals", "lodging", "mileage", "entertainment",
                                                      "other")))
    description = Text(2000, allow_none=True)
    incurred_on = Day()


class ExpenseDecision(Strict):
    note = Text(500, allow_none=True)


class Expense(Record):
    owner_id = fields.String(allow_none=True)
    amount = Money()
    currency = fields.String()
    category = fields.String()
    description = fields.String(allow_none=True)
    incurred_on = Day()
    status = fields.String()
    decided_by = fields.String(allow_none=True)
    decided_at = UtcDateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)


class ExpenseFilters(Schema):
    SORTABLE = ("created_at", "incurred_on", "amount")
    status = fields.String(validate=validate.OneOf(EXPENSE_STATUSES))
    owner_id = Id()


ExpenseListQuery = list_query(ExpenseFilters, "ExpenseListQuery")
ExpensePage = page(Expense, "ExpensePage")


class SalesSettings(Schema):
    """Configurable business values (administrators change them)."""

    class Meta:
        unknown = RAISE

    RULES = ("grade_thresholds names both A and B, A above B",)

    grade_thresholds = fields.Dict(keys=fields.String(validate=validate.OneOf(("A", "B"))), values=Money(minimum=0),
                                   metadata={"description": "total order value for grade A and B, else C"})
    loyal_after_orders = fields.Integer(strict=True, validate=validate.Range(min=2, max=1000))
    churn_after_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=3650))
    discount_approval_percent = Percent(metadata={"description": "line discounts above need approval"})
    renewal_reminder_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=3650))
    commission_rate_percent = Percent()
    commission_rates = fields.Dict(keys=Id(), values=Percent(),
                                   metadata={"description": "user id -> commission percent"})


# -- events -------------------------------------------------------------------------------------


class _Entity(Schema):
    id = fields.String(required=True)


class _Changed(_Entity):
    changed_fields = fields.List(fields.String(), required=True)


class LeadEventData(_Entity):
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


class LeadUpdatedData(LeadEventData, _Changed):
    pass


class LeadAssignedData(_Entity):
    owner_id = fields.String(allow_none=True, required=True)
    previous_owner_id = fields.String(allow_none=True, required=True)
    rule = fields.String(required=True)


class LeadConvertedData(_Entity):
    account_id = fields.String(required=True)
    contact_id = fields.String(required=True)
    opportunity_id = fields.String(allow_none=True, required=True)


class AccountEventData(_Entity):
    name = fields.String(allow_none=True)
    industry = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    territory_id = fields.String(allow_none=True)
    grade = fields.String(allow_none=True)
    lifecycle_stage = fields.String(allow_none=True)
    parent_id = fields.String(allow_none=True)


class AccountUpdatedData(AccountEventData, _Changed):
    pass


class MergedData(_Entity):
    merged_ids = fields.List(fields.String(), required=True)


class AccountMergedData(AccountEventData, MergedData):
    pass


class ContactEventData(_Entity):
    account_id = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    do_not_call = Boolean()


class ContactUpdatedData(ContactEventData, _Changed):
    pass


class ContactMergedData(ContactEventData, MergedData):
    pass


class OpportunityEventData(_Entity):
    name = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    team_id = fields.String(allow_none=True)
    territory_id = fields.String(allow_none=True)
    amount = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)
    stage = fields.String(allow_none=True)
    probability = fields.Integer(strict=True, allow_none=True)
    expected_close_date = fields.String(allow_none=True)
    campaign_id = fields.String(allow_none=True)
    lost_reason = fields.String(allow_none=True)
    closed_at = fields.String(allow_none=True)


class OpportunityUpdatedData(OpportunityEventData, _Changed):
    pass


class StageChangedData(_Entity):
    from_stage = fields.String(required=True)
    to_stage = fields.String(required=True)
    probability = fields.Integer(strict=True, required=True)
    amount = fields.String(required=True)
    currency = fields.String(required=True)
    owner_id = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)


class QuoteEventData(_Entity):
    opportunity_id = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)
    total = fields.String(required=True)
    currency = fields.String(required=True)
    status = fields.String()
    order_id = fields.String(allow_none=True)


class OrderEventData(_Entity):
    quote_id = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)
    status = fields.String(required=True)
    previous_status = fields.String(allow_none=True)
    total = fields.String(required=True)
    currency = fields.String(required=True)


class ContractEventData(_Entity):
    account_id = fields.String(allow_none=True)
    order_id = fields.String(allow_none=True)
    opportunity_id = fields.String(allow_none=True)
    status = fields.String(required=True)
    starts_on = fields.String(allow_none=True)
    ends_on = fields.String(allow_none=True)
    value = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)


class ActivityEventData(_Entity):
    type = fields.String(required=True)
    subject = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    lead_id = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True)
    opportunity_id = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    starts_at = fields.String(allow_none=True)


class ActivityReminderData(ActivityEventData):
    due_at = fields.String(allow_none=True)
    remind_at = fields.String(required=True)


LEAD_CREATED = event("sales", "lead_created", 1, LeadEventData, "A lead was created.", entity="lead", action="create")
LEAD_UPDATED = event("sales", "lead_updated", 1, LeadUpdatedData, "A lead changed.", entity="lead", action="update")
LEAD_ASSIGNED = event("sales", "lead_assigned", 1, LeadAssignedData, "A lead got an owner.", entity="lead",
                      action="assign")
LEAD_CONVERTED = event("sales", "lead_converted", 1, LeadConvertedData, "A lead became account, contact, deal.",
                       entity="lead", action="update")
ACCOUNT_CREATED = event("sales", "account_created", 1, AccountEventData, "", entity="account", action="create")
ACCOUNT_UPDATED = event("sales", "account_updated", 1, AccountUpdatedData, "", entity="account", action="update")
ACCOUNT_MERGED = event("sales", "account_merged", 1, AccountMergedData, "Duplicates merged into this account.",
                       entity="account", action="update")
CONTACT_CREATED = event("sales", "contact_created", 1, ContactEventData, "", entity="contact", action="create")
CONTACT_UPDATED = event("sales", "contact_updated", 1, ContactUpdatedData, "", entity="contact", action="update")
CONTACT_MERGED = event("sales", "contact_merged", 1, ContactMergedData, "", entity="contact", action="update")
OPPORTUNITY_CREATED = event("sales", "opportunity_created", 1, OpportunityEventData, "", entity="opportunity",
                            action="create")
OPPORTUNITY_UPDATED = event("sales", "opportunity_updated", 1, OpportunityUpdatedData, "", entity="opportunity",
                            action="update")
OPPORTUNITY_STAGE_CHANGED = event("sales", "opportunity_stage_changed", 1, StageChangedData, "",
                                  entity="opportunity", action="update")
OPPORTUNITY_WON = event("sales", "opportunity_won", 1, OpportunityEventData, "", entity="opportunity",
                        action="update")
OPPORTUNITY_LOST = event("sales", "opportunity_lost", 1, OpportunityEventData, "", entity="opportunity",
                         action="update")
QUOTE_SENT = event("sales", "quote_sent", 1, QuoteEventData, "", entity="quote", action="update")
QUOTE_ACCEPTED = event("sales", "quote_accepted", 1, QuoteEventData, "", entity="quote", action="update")
ORDER_PLACED = event("sales", "order_placed", 1, OrderEventData, "", entity="order", action="create")
ORDER_STATUS_CHANGED = event("sales", "order_status_changed", 1, OrderEventData, "", entity="order",
                             action="update")
CONTRACT_SIGNED = event("sales", "contract_signed", 1, ContractEventData, "", entity="contract", action="update")
CONTRACT_EXPIRING = event("sales", "contract_expiring", 1, ContractEventData, "", entity="contract",
                          action="update")
ACTIVITY_LOGGED = event("sales", "activity_logged", 1, ActivityEventData, "", entity="activity", action="create")
ACTIVITY_REMINDER_DUE = event("sales", "activity_reminder_due", 1, ActivityReminderData,
                              "An open activity's reminder time came: its owner is to be reminded (sent once; "
                              "moving remind_at arms it again).")
RECORD_CHANGED = event("sales", "record_changed", 1, RecordChangedData,
                       "A sales record without an event of its own (a deleted lead, a product, a target, an "
                       "expense...) was created, changed or deleted.", entity=FROM_DATA, action=FROM_DATA)
TERRITORY_MEMBERS_CHANGED = event("sales", "territory_members_changed", 1, TerritoryMembersData,
                                  "A territory was created or its member_ids changed (its audit entry is the "
                                  "record_changed event beside it).")
PRIVACY_PART_COMPLETED = event("sales", "privacy_part_completed", 1, PrivacyPartSchema,
                               "The sales part of a privacy request is done.", entity="privacy_request",
                               action="export")

# -- RPCs (the gateway's calls) -----------------------------------------------------------------

CREATE_LEAD = rpc("sales", "create_lead", LeadCreate, Lead)
GET_LEAD = rpc("sales", "get_lead", None, Lead)
UPDATE_LEAD = rpc("sales", "update_lead", LeadUpdate, Lead)
DELETE_LEAD = rpc("sales", "delete_lead", None, None)
LIST_LEADS = rpc("sales", "list_leads", LeadListQuery, LeadPage)
CONVERT_LEAD = rpc("sales", "convert_lead", LeadConvert, ConvertResult)
IMPORT_LEADS = rpc("sales", "import_leads", LeadImportRequest, Job)
GET_IMPORT = rpc("sales", "get_import", None, Job)
CREATE_ASSIGNMENT_RULE = rpc("sales", "create_assignment_rule", AssignmentRuleCreate, AssignmentRule)
LIST_ASSIGNMENT_RULES = rpc("sales", "list_assignment_rules", None, AssignmentRule, many=True)

CREATE_TERRITORY = rpc("sales", "create_territory", TerritoryCreate, Territory)
GET_TERRITORY = rpc("sales", "get_territory", None, Territory)
UPDATE_TERRITORY = rpc("sales", "update_territory", TerritoryUpdate, Territory)
LIST_TERRITORIES = rpc("sales", "list_territories", TerritoryListQuery, TerritoryPage)

CREATE_ACCOUNT = rpc("sales", "create_account", AccountCreate, Account)
GET_ACCOUNT = rpc("sales", "get_account", None, Account)
UPDATE_ACCOUNT = rpc("sales", "update_account", AccountUpdate, Account)
DELETE_ACCOUNT = rpc("sales", "delete_account", None, None)
LIST_ACCOUNTS = rpc("sales", "list_accounts", AccountListQuery, AccountPage)
MERGE_ACCOUNTS = rpc("sales", "merge_accounts", MergeRequest, Account)

CREATE_CONTACT = rpc("sales", "create_contact", ContactCreate, Contact)
GET_CONTACT = rpc("sales", "get_contact", None, Contact)
UPDATE_CONTACT = rpc("sales", "update_contact", ContactUpdate, Contact)
DELETE_CONTACT = rpc("sales", "delete_contact", None, None)
LIST_CONTACTS = rpc("sales", "list_contacts", ContactListQuery, ContactPage)
MERGE_CONTACTS = rpc("sales", "merge_contacts", MergeRequest, Contact)

CREATE_OPPORTUNITY = rpc("sales", "create_opportunity", OpportunityCreate, Opportunity)
GET_OPPORTUNITY = rpc("sales", "get_opportunity", None, Opportunity)
UPDATE_OPPORTUNITY = rpc("sales", "update_opportunity", OpportunityUpdate, Opportunity)
DELETE_OPPORTUNITY = rpc("sales", "delete_opportunity", None, None)
LIST_OPPORTUNITIES = rpc("sales", "list_opportunities", OpportunityListQuery, OpportunityPage)
OPPORTUNITY_HISTORY = rpc("sales", "opportunity_history", None, History)
CREATE_PIPELINE = rpc("sales", "create_pipeline", PipelineCreate, Pipeline)
LIST_PIPELINES = rpc("sales", "list_pipelines", None, PipelineList)

CREATE_PRODUCT = rpc("sales", "create_product", ProductCreate, Product)
GET_PRODUCT = rpc("sales", "get_product", None, Product)
UPDATE_PRODUCT = rpc("sales", "update_product", ProductUpdate, Product)
DELETE_PRODUCT = rpc("sales", "delete_product", None, None)
LIST_PRODUCTS = rpc("sales", "list_products", ProductListQuery, ProductPage)
CREATE_QUOTE = rpc("sales", "create_quote", QuoteCreate, Quote)
GET_QUOTE = rpc("sales", "get_quote", None, Quote)
UPDATE_QUOTE = rpc("sales", "update_quote", QuoteUpdate, Quote)
DELETE_QUOTE = rpc("sales", "delete_quote", None, None)
LIST_QUOTES = rpc("sales", "list_quotes", QuoteListQuery, QuotePage)
QUOTE_ACTION = rpc("sales", "quote_action", None, Quote)
ACCEPT_QUOTE = rpc("sales", "accept_quote", None, Order)
GET_ORDER = rpc("sales", "get_order", None, Order)
UPDATE_ORDER = rpc("sales", "update_order", OrderUpdate, Order)
LIST_ORDERS = rpc("sales", "list_orders", OrderListQuery, OrderPage)
CREATE_CONTRACT = rpc("sales", "create_contract", ContractCreate, Contract)
GET_CONTRACT = rpc("sales", "get_contract", None, Contract)
UPDATE_CONTRACT = rpc("sales", "update_contract", ContractUpdate, Contract)
DELETE_CONTRACT = rpc("sales", "delete_contract", None, None)
LIST_CONTRACTS = rpc("sales", "list_contracts", ContractListQuery, ContractPage)
CONTRACT_DOCUMENT = rpc("sales", "contract_document", None, Document)
CREATE_ACTIVITY = rpc("sales", "create_activity", ActivityCreate, Activity)
GET_ACTIVITY = rpc("sales", "get_activity", None, Activity)
UPDATE_ACTIVITY = rpc("sales", "update_activity", ActivityUpdate, Activity)
DELETE_ACTIVITY = rpc("sales", "delete_activity", None, None)
LIST_ACTIVITIES = rpc("sales", "list_activities", ActivityListQuery, ActivityPage)
CALENDAR = rpc("sales", "calendar", CalendarQuery, Calendar)
CREATE_CALL_LIST = rpc("sales", "create_call_list", CallListCreate, CallList)
GET_CALL_LIST = rpc("sales", "get_call_list", None, CallList)
LIST_CALL_LISTS = rpc("sales", "list_call_lists", CallListQuery, CallListPage)
LOG_CALL = rpc("sales", "log_call", CallLog, CallList)
CREATE_TARGET = rpc("sales", "create_target", TargetCreate, Target)
GET_TARGET = rpc("sales", "get_target", None, Target)
UPDATE_TARGET = rpc("sales", "update_target", TargetUpdate, Target)
DELETE_TARGET = rpc("sales", "delete_target", None, None)
LIST_TARGETS = rpc("sales", "list_targets", TargetListQuery, TargetPage)
FORECAST = rpc("sales", "forecast", ForecastQuery, Forecast)
COMMISSIONS = rpc("sales", "commissions", CommissionQuery, Commissions)
CREATE_EXPENSE = rpc("sales", "create_expense", ExpenseCreate, Expense)
GET_EXPENSE = rpc("sales", "get_expense", None, Expense)
UPDATE_EXPENSE = rpc("sales", "update_expense", ExpenseUpdate, Expense)
DELETE_EXPENSE = rpc("sales", "delete_expense", None, None)
LIST_EXPENSES = rpc("sales", "list_expenses", ExpenseListQuery, ExpensePage)
DECIDE_EXPENSE = rpc("sales", "decide_expense", ExpenseDecision, Expense)
GET_SETTINGS = rpc("sales", "get_settings", None, SalesSettings)
UPDATE_SETTINGS = rpc("sales", "update_settings", SalesSettings, SalesSettings)


class LeadsImportedData(Schema):
    job_id = fields.String(required=True)
    ids = Strings(required=True)
    # one dict per id: id, owner_id, team_id, territory_id, status, source, email, company (a Nested schema
    # would cost ~60 µs a lead to validate, more than the rest of an import's work)
    leads = Records(required=True)


LEADS_IMPORTED = event("sales", "leads_imported", 1, LeadsImportedData,
                       "A batch of an import created these leads (one event per batch; the audit trail has one "
                       "entry per id).", entity="lead", action="create")
