"""Contracts of sale: from an order or an opportunity; draft, signed, active, expired, terminated; a .docx."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Day, Money, Timestamp, at_least_one_of, existing
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import Patch, Record, Strict, list_query, page
from crm_sales_contracts.field_types import Currency, EntityData, Id, TextUpTo
from crm_sales_contracts.orders import QuoteLine

CONTRACT_STATUSES = ("draft", "signed", "active", "expired", "terminated")
ENDS_AFTER_START = "ends_on is after starts_on"


class ContractCreate(Strict):
    OPENAPI = at_least_one_of(order_id="string", opportunity_id="string", account_id="string")
    RULES = (ENDS_AFTER_START, existing("order_id", "opportunity_id"),
             "value and currency are given, or taken from the order or opportunity")

    account_id = Id(allow_none=True)
    order_id = Id(allow_none=True)
    opportunity_id = Id(allow_none=True)
    starts_on = Day(required=True)
    ends_on = Day(required=True)
    value = Money(minimum=0, metadata={"description": "defaults to the order's or deal's"})
    currency = Currency()
    terms = TextUpTo(20000, allow_none=True)
    renewal_notice_days = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=3650))


class ContractUpdate(Patch):
    RULES = (ENDS_AFTER_START,)

    status = fields.String(validate=validate.OneOf(CONTRACT_STATUSES))
    starts_on = Day()
    ends_on = Day()
    terms = TextUpTo(20000, allow_none=True)
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
    signed_at = Timestamp(allow_none=True)


class ContractFilters(Schema):
    SORTABLE = ("created_at", "ends_on", "value")
    status = fields.String(validate=validate.OneOf(CONTRACT_STATUSES))
    account_id = Id()
    owner_id = Id()


ContractListQuery = list_query("ContractListQuery", ContractFilters)
ContractPage = page(Contract, "ContractPage")


class Document(Schema):
    filename = fields.String()
    content_type = fields.String()
    content_base64 = fields.String()


class ContractEventData(EntityData):
    account_id = fields.String(allow_none=True)
    order_id = fields.String(allow_none=True)
    opportunity_id = fields.String(allow_none=True)
    status = fields.String(required=True)
    starts_on = Day(allow_none=True)
    ends_on = Day(allow_none=True)
    value = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)


CONTRACT_SIGNED = event("sales", "contract_signed", 1, ContractEventData, "", entity="contract", action="update")
CONTRACT_EXPIRING = event("sales", "contract_expiring", 1, ContractEventData, "", entity="contract",
                          action="update")

LIST_CONTRACTS = rpc("sales", "list_contracts", ContractListQuery, ContractPage, permission=("contract", "read"))
CREATE_CONTRACT = rpc("sales", "create_contract", ContractCreate, Contract, permission=("contract", "create"))
GET_CONTRACT = rpc("sales", "get_contract", None, Contract, permission=("contract", "read"), record=True)
UPDATE_CONTRACT = rpc("sales", "update_contract", ContractUpdate, Contract, permission=("contract", "update"),
                      record=True)
DELETE_CONTRACT = rpc("sales", "delete_contract", None, None, permission=("contract", "delete"), record=True)
CONTRACT_DOCUMENT = rpc("sales", "contract_document", None, Document, permission=("contract", "read"), record=True,
                        description="The contract as a Word document (parties, lines, terms).")
