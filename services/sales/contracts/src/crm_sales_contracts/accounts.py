"""Accounts and contacts: grade by value, lifecycle from orders, parents, do-not-call, merging duplicates."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Boolean, Money, existing
from crm_common.contracts.records import CustomListQuery, CustomValues, TagFilter, Tags
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import Patch, Record, Strict, list_query, page
from crm_sales_contracts.links import external_ids_field
from crm_sales_contracts.field_types import (EMAIL_RULE, PHONE_RULE, ChangedData, Country, Email, EntityData, Id,
                                             MergedData, Name, Phone, TextUpTo)

GRADES = ("A", "B", "C")
LIFECYCLE = ("prospect", "first_purchase", "repeat", "loyal", "churned")
SIZES = ("micro", "small", "medium", "large", "enterprise")


class AccountFields(Strict):
    RULES = (PHONE_RULE, existing("territory_id", "parent_id"), "an account is not its own ancestor")

    name = Name()
    industry = TextUpTo(100, allow_none=True)
    size = fields.String(allow_none=True, validate=validate.OneOf(SIZES))
    employees = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0, max=10_000_000))
    website = TextUpTo(300, allow_none=True)
    phone = Phone(allow_none=True)
    street = TextUpTo(200, allow_none=True)
    city = TextUpTo(100, allow_none=True)
    postal_code = TextUpTo(20, allow_none=True)
    region = TextUpTo(100, allow_none=True)
    country = Country(allow_none=True)
    owner_id = Id(allow_none=True)
    territory_id = Id(allow_none=True)
    parent_id = Id(allow_none=True)
    custom_fields = CustomValues(allow_none=True)
    tags = Tags()


class AccountCreate(AccountFields):
    name = Name(required=True)


class AccountUpdate(AccountFields, Patch):
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
    custom_fields = CustomValues(allow_none=True)
    tags = Tags()
    external_ids = external_ids_field()


class AccountFilters(CustomListQuery):  # ?custom.<name>=, sort=custom.<name>
    SORTABLE = ("created_at", "updated_at", "name", "total_value")
    owner_id = Id()
    territory_id = Id()
    parent_id = Id()
    industry = TextUpTo(100)
    country = Country()
    grade = fields.String(validate=validate.OneOf(GRADES))
    lifecycle_stage = fields.String(validate=validate.OneOf(LIFECYCLE))
    tag = TagFilter()


AccountListQuery = list_query("AccountListQuery", AccountFilters)
AccountPage = page(Account, "AccountPage")


class MergeRequest(Strict):
    RULES = (existing("merge_ids"), "a record is not merged into itself")

    merge_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=20),
                            metadata={"description": "records merged into this one (kept, marked merged)"})


# -- contacts ----------------------------------------------------------------------------------------

class ContactFields(Strict):
    RULES = (EMAIL_RULE, PHONE_RULE, "owner_id names someone else only with the contact assign permission")

    account_id = Id(allow_none=True)
    first_name = TextUpTo(100, allow_none=True)
    last_name = Name(100)
    email = Email(allow_none=True)
    phone = Phone(allow_none=True)
    title = TextUpTo(100, allow_none=True)
    owner_id = Id(allow_none=True)
    do_not_call = Boolean()
    country = Country(allow_none=True)
    custom_fields = CustomValues(allow_none=True)
    tags = Tags()


class ContactCreate(ContactFields):
    last_name = Name(100, required=True)


class ContactUpdate(ContactFields, Patch):
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
    custom_fields = CustomValues(allow_none=True)
    tags = Tags()
    external_ids = external_ids_field()


class ContactFilters(CustomListQuery):  # ?custom.<name>=, sort=custom.<name>
    SORTABLE = ("created_at", "updated_at", "last_name")
    account_id = Id()
    owner_id = Id()
    email = fields.String(validate=validate.Length(max=254))
    do_not_call = fields.Boolean()
    tag = TagFilter()


ContactListQuery = list_query("ContactListQuery", ContactFilters)
ContactPage = page(Contact, "ContactPage")


# -- events ------------------------------------------------------------------------------------------

class AccountEventData(EntityData):
    name = fields.String(allow_none=True)
    industry = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    territory_id = fields.String(allow_none=True)
    grade = fields.String(allow_none=True)
    lifecycle_stage = fields.String(allow_none=True)
    parent_id = fields.String(allow_none=True)
    custom_fields = CustomValues(allow_none=True)
    tags = fields.List(fields.String())


class AccountUpdatedData(AccountEventData, ChangedData):
    pass


class AccountMergedData(AccountEventData, MergedData):
    pass


class ContactEventData(EntityData):
    account_id = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    do_not_call = Boolean()
    title = fields.String(allow_none=True)
    custom_fields = CustomValues(allow_none=True)
    tags = fields.List(fields.String())


class ContactUpdatedData(ContactEventData, ChangedData):
    pass


class ContactMergedData(ContactEventData, MergedData):
    pass


ACCOUNT_CREATED = event("sales", "account_created", 1, AccountEventData, "", entity="account", action="create")
ACCOUNT_UPDATED = event("sales", "account_updated", 1, AccountUpdatedData, "", entity="account", action="update")
ACCOUNT_MERGED = event("sales", "account_merged", 1, AccountMergedData, "Duplicates merged into this account.",
                       entity="account", action="update")
CONTACT_CREATED = event("sales", "contact_created", 1, ContactEventData, "", entity="contact", action="create")
CONTACT_UPDATED = event("sales", "contact_updated", 1, ContactUpdatedData, "", entity="contact", action="update")
CONTACT_MERGED = event("sales", "contact_merged", 1, ContactMergedData, "", entity="contact", action="update")

# -- RPCs --------------------------------------------------------------------------------------------

MERGE_DOC = "Merge duplicates into this record; their history (deals, orders, activities) moves here."

LIST_ACCOUNTS = rpc("sales", "list_accounts", AccountListQuery, AccountPage, permission=("account", "read"))
CREATE_ACCOUNT = rpc("sales", "create_account", AccountCreate, Account, permission=("account", "create"))
GET_ACCOUNT = rpc("sales", "get_account", None, Account, permission=("account", "read"), record=True)
UPDATE_ACCOUNT = rpc("sales", "update_account", AccountUpdate, Account, permission=("account", "update"), record=True)
DELETE_ACCOUNT = rpc("sales", "delete_account", None, None, permission=("account", "delete"), record=True)
MERGE_ACCOUNTS = rpc("sales", "merge_accounts", MergeRequest, Account, permission=("account", "update"), record=True,
                     description=MERGE_DOC)

LIST_CONTACTS = rpc("sales", "list_contacts", ContactListQuery, ContactPage, permission=("contact", "read"))
CREATE_CONTACT = rpc("sales", "create_contact", ContactCreate, Contact, permission=("contact", "create"))
GET_CONTACT = rpc("sales", "get_contact", None, Contact, permission=("contact", "read"), record=True)
UPDATE_CONTACT = rpc("sales", "update_contact", ContactUpdate, Contact, permission=("contact", "update"), record=True)
DELETE_CONTACT = rpc("sales", "delete_contact", None, None, permission=("contact", "delete"), record=True)
MERGE_CONTACTS = rpc("sales", "merge_contacts", MergeRequest, Contact, permission=("contact", "update"), record=True,
                     description=MERGE_DOC)
