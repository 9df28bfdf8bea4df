"""Partners (the channel): partner accounts with a tier and territory, their training and certification records,
deal registration (approved or rejected by a channel manager, conflicts flagged), profit share rates per tier and
product, partner orders and statements per period."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Boolean, Day, DecimalString, Money, Percent, Timestamp, existing
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import Patch, Record, Strict, list_query, page
from crm_sales_contracts.field_types import Currency, EntityData, Id, Name, Period, TextUpTo

TIERS = ("registered", "silver", "gold", "platinum")
REGISTRATION_STATUSES = ("pending", "approved", "rejected")
TRAINING_KINDS = ("training", "certification")
STATEMENT_FORMATS = ("json", "xlsx")


class PartnerCreate(Strict):
    RULES = (existing("territory_id", "account_id"),
             "a tier above registered needs its valid certifications (silver 1, gold 2, platinum 3)")

    name = Name(required=True)
    tier = fields.String(load_default="registered", validate=validate.OneOf(TIERS))
    territory_id = Id(allow_none=True)
    account_id = Id(allow_none=True)
    email = fields.String(allow_none=True, validate=validate.Length(max=254))


class PartnerUpdate(Patch):
    RULES = PartnerCreate.RULES

    name = Name()
    tier = fields.String(validate=validate.OneOf(TIERS))
    territory_id = Id(allow_none=True)
    account_id = Id(allow_none=True)
    email = fields.String(allow_none=True, validate=validate.Length(max=254))
    active = Boolean()


class Partner(Record):
    name = fields.String()
    tier = fields.String()
    territory_id = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    active = Boolean()
    owner_id = fields.String(allow_none=True)


class PartnerFilters(Schema):
    SORTABLE = ("created_at", "name")
    tier = fields.String(validate=validate.OneOf(TIERS))
    territory_id = Id()
    active = fields.Boolean()


PartnerListQuery = list_query("PartnerListQuery", PartnerFilters)
PartnerPage = page(Partner, "PartnerPage")


class TrainingIn(Strict):
    RULES = ("expires_on is after completed_on", "days from 1900 to 2900")

    kind = fields.String(required=True, validate=validate.OneOf(TRAINING_KINDS))
    name = Name(required=True)
    person = TextUpTo(200, allow_none=True)
    completed_on = Day(required=True)
    expires_on = Day(allow_none=True)


class Training(Record):
    partner_id = fields.String()
    kind = fields.String()
    name = fields.String()
    person = fields.String(allow_none=True)
    completed_on = Day()
    expires_on = Day(allow_none=True)


TrainingPage = page(Training, "TrainingPage")


# -- deal registration -------------------------------------------------------------------------------

class DealRegistrationIn(Strict):
    RULES = (existing("partner_id") + " (a partner user registers for their own partner, and may leave it out)",
             "expected_close_date is a day from 1900 to 2900")

    partner_id = Id()
    account_name = Name(required=True)
    opportunity_name = Name(required=True)
    amount = Money(required=True, minimum=0)
    currency = Currency(required=True)
    expected_close_date = Day(allow_none=True)


class Conflict(Schema):
    kind = fields.String(metadata={"description": "account, opportunity or registration"})
    id = fields.String()
    name = fields.String(allow_none=True)


class DealRegistration(Record):
    partner_id = fields.String()
    account_name = fields.String()
    opportunity_name = fields.String()
    amount = Money()
    currency = fields.String()
    expected_close_date = Day(allow_none=True)
    status = fields.String()
    conflict = Boolean()
    conflicts = fields.List(fields.Nested(Conflict))
    account_id = fields.String(allow_none=True)
    opportunity_id = fields.String(allow_none=True)
    opportunity_stage = fields.String(allow_none=True)
    registered_by = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decided_at = Timestamp(allow_none=True)
    decision_note = fields.String(allow_none=True)


class DealRegistrationFilters(Schema):
    SORTABLE = ("created_at", "amount")
    partner_id = Id()
    status = fields.String(validate=validate.OneOf(REGISTRATION_STATUSES))
    conflict = fields.Boolean()


DealRegistrationListQuery = list_query("DealRegistrationListQuery", DealRegistrationFilters)
DealRegistrationPage = page(DealRegistration, "DealRegistrationPage")


class RegistrationDecision(Strict):
    note = TextUpTo(500, allow_none=True)


# -- profit share, orders, statements ----------------------------------------------------------------

class ShareRateIn(Strict):
    RULES = (existing("product_id"), "one rate per tier and product (again: it replaces the rate)")

    tier = fields.String(required=True, validate=validate.OneOf(TIERS))
    product_id = Id(allow_none=True, metadata={"description": "none: every product without a rate of its own"})
    percent = Percent(required=True)


class ShareRate(Record):
    tier = fields.String()
    product_id = fields.String(allow_none=True)
    percent = DecimalString()


ShareRatePage = page(ShareRate, "ShareRatePage")


class PartnerOrderLine(Strict):
    RULES = (existing("product_id") + " (an active product in the order's currency)",)

    product_id = Id(required=True)
    quantity = DecimalString(places=3, required=True, validate=validate.Range(min=0, min_inclusive=False,
                                                                               max=1_000_000))


class PartnerOrderIn(Strict):
    RULES = PartnerOrderLine.RULES
    lines = fields.List(fields.Nested(PartnerOrderLine), required=True, validate=validate.Length(min=1, max=200))
    currency = Currency(required=True)


class PartnerOrder(Record):
    partner_id = fields.String()
    account_id = fields.String(allow_none=True)
    status = fields.String()
    total = Money()
    currency = fields.String()
    placed_at = Timestamp()


PartnerOrderPage = page(PartnerOrder, "PartnerOrderPage")


class StatementQuery(Strict):
    period = Period(required=True)
    format = fields.String(load_default="json", validate=validate.OneOf(STATEMENT_FORMATS))


class StatementLine(Schema):
    source = fields.String(metadata={"description": "deal (a won opportunity) or order"})
    id = fields.String()
    name = fields.String(allow_none=True)
    product_id = fields.String(allow_none=True)
    tier = fields.String(metadata={"description": "the partner's tier on the day of the deal or order"})
    day = Day()
    amount = fields.String()
    percent = fields.String()
    share = fields.String()
    currency = fields.String()


class StatementTotal(Schema):
    currency = fields.String()
    amount = fields.String()
    share = fields.String()


class Statement(Schema):
    partner_id = fields.String()
    partner_name = fields.String()
    tier = fields.String(metadata={"description": "the partner's tier today (each line shows the tier it earned at)"})
    period = fields.String()
    lines = fields.List(fields.Nested(StatementLine))
    totals = fields.List(fields.Nested(StatementTotal))
    content_base64 = fields.String(metadata={"description": "format xlsx: the workbook"})
    content_type = fields.String()
    filename = fields.String()


class PartnerLead(Record):
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    company = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    status = fields.String()
    territory_id = fields.String(allow_none=True)
    partner_id = fields.String(allow_none=True)


PartnerLeadPage = page(PartnerLead, "PartnerLeadPage")


class DistributeLeads(Strict):
    territory_id = Id(metadata={"description": "only this territory's leads"})
    limit = fields.Integer(strict=True, load_default=100, validate=validate.Range(min=1, max=1000))


class Distributed(Schema):
    lead_id = fields.String()
    partner_id = fields.String()


class Distribution(Schema):
    assigned = fields.Integer()
    items = fields.List(fields.Nested(Distributed))


# -- events ------------------------------------------------------------------------------------------

class PartnerEventData(EntityData):
    name = fields.String(required=True)
    tier = fields.String(required=True)
    territory_id = fields.String(allow_none=True)
    changed_fields = fields.List(fields.String())


class DealRegistrationData(EntityData):
    partner_id = fields.String(required=True)
    status = fields.String(required=True)
    conflict = fields.Boolean(required=True)
    amount = fields.String(required=True)
    currency = fields.String(required=True)
    opportunity_id = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)


class LeadDistributedData(EntityData):
    partner_id = fields.String(required=True)


PARTNER_CREATED = event("sales", "partner_created", 1, PartnerEventData, "", entity="partner", action="create")
PARTNER_UPDATED = event("sales", "partner_updated", 1, PartnerEventData, "A partner's name, tier, territory or "
                        "status changed.", entity="partner", action="update")
DEAL_REGISTERED = event("sales", "deal_registered", 1, DealRegistrationData, "A partner registered a deal (conflict: "
                        "the account or an open deal exists).", entity="deal_registration", action="create")
DEAL_REGISTRATION_DECIDED = event("sales", "deal_registration_decided", 1, DealRegistrationData,
                                  "A channel manager approved (the opportunity is created, linked to the partner) "
                                  "or rejected a registration.", entity="deal_registration", action="update")
LEAD_DISTRIBUTED = event("sales", "lead_distributed", 1, LeadDistributedData,
                         "A lead was given to a partner (by territory and tier).", entity="lead", action="assign")

# -- RPCs --------------------------------------------------------------------------------------------

LIST_PARTNERS = rpc("sales", "list_partners", PartnerListQuery, PartnerPage, permission=("partner", "read"))
CREATE_PARTNER = rpc("sales", "create_partner", PartnerCreate, Partner, permission=("partner", "create"))
GET_PARTNER = rpc("sales", "get_partner", None, Partner, permission=("partner", "read"), record=True)
UPDATE_PARTNER = rpc("sales", "update_partner", PartnerUpdate, Partner, permission=("partner", "update"), record=True)
LIST_TRAININGS = rpc("sales", "list_partner_trainings", None, TrainingPage, permission=("partner", "read"),
                     record=True)
ADD_TRAINING = rpc("sales", "add_partner_training", TrainingIn, Training, permission=("partner", "update"),
                   record=True, description="A training or certification someone at the partner completed.")
PARTNER_STATEMENT = rpc("sales", "partner_statement", StatementQuery, Statement, permission=("partner", "read"),
                        record=True, description="The partner's profit share of a period: won deals and orders at "
                                                 "the rate of its tier and each product (json or xlsx).")
LIST_PARTNER_ORDERS = rpc("sales", "list_partner_orders", None, PartnerOrderPage, permission=("partner", "read"),
                          record=True)
PLACE_PARTNER_ORDER = rpc("sales", "place_partner_order", PartnerOrderIn, PartnerOrder,
                          permission=("order", "create"), record=True,
                          description="The partner orders products at list price (partner users for their own "
                                      "partner, channel managers for any).")
LIST_PARTNER_LEADS = rpc("sales", "list_partner_leads", None, PartnerLeadPage, permission=("partner", "read"),
                         record=True, description="The leads given to the partner (the latest 200).")
LIST_SHARE_RATES = rpc("sales", "list_share_rates", None, ShareRatePage, permission=("partner", "read"))
SET_SHARE_RATE = rpc("sales", "set_share_rate", ShareRateIn, ShareRate, permission=("partner", "admin"))
DISTRIBUTE_LEADS = rpc("sales", "distribute_leads", DistributeLeads, Distribution, permission=("partner", "admin"),
                       description="Unassigned new leads go to active partners of their territory, highest tier "
                                   "first, fewest open leads first.")

LIST_DEAL_REGISTRATIONS = rpc("sales", "list_deal_registrations", DealRegistrationListQuery, DealRegistrationPage,
                              permission=("deal_registration", "read"))
CREATE_DEAL_REGISTRATION = rpc("sales", "create_deal_registration", DealRegistrationIn, DealRegistration,
                               permission=("deal_registration", "create"))
GET_DEAL_REGISTRATION = rpc("sales", "get_deal_registration", None, DealRegistration,
                            permission=("deal_registration", "read"), record=True)
APPROVE_DEAL_REGISTRATION = rpc("sales", "approve_deal_registration", RegistrationDecision, DealRegistration,
                                permission=("deal_registration", "admin"), record=True,
                                description="Approve: the opportunity is created, linked to the partner (409: "
                                            "decided already).")
REJECT_DEAL_REGISTRATION = rpc("sales", "reject_deal_registration", RegistrationDecision, DealRegistration,
                               permission=("deal_registration", "admin"), record=True,
                               description="Reject (409: decided already).")
