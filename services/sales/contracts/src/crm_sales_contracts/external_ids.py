"""Upserts by external id: `PUT /api/v1/<resource>/by-external-id/{system}/{external_id}` for accounts,
contacts, products and orders; the body as for a create; the answer the record with `created` and `external_ids`."""
from __future__ import annotations

from marshmallow import Schema, fields

from crm_common.contracts.registry import rpc
from crm_common.contracts.schemas import Job, Strict
from crm_sales_contracts.accounts import Account, AccountCreate, AccountUpdate, Contact, ContactCreate, ContactUpdate
from crm_sales_contracts.links import ExternalLink
from crm_sales_contracts.orders import Order, OrderCreate, OrderUpdate, Product, ProductCreate, ProductUpdate

SYSTEM_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9_.:@#/+=-][A-Za-z0-9_.:@#/+= -]{0,199}$"


def _upserted(record: type[Schema], name: str) -> type[Schema]:
    return type(name, (record,), {
        "created": fields.Boolean(required=True, metadata={"description": "true: made now (201); false: updated (200)"}),
        "external_ids": fields.List(fields.Nested(ExternalLink), required=True)})


AccountUpserted = _upserted(Account, "AccountUpserted")
ContactUpserted = _upserted(Contact, "ContactUpserted")
ProductUpserted = _upserted(Product, "ProductUpserted")
OrderUpserted = _upserted(Order, "OrderUpserted")

# resource -> (its create input, the update fields an upsert applies to a linked record)
UPSERT_FIELDS = {"account": tuple(AccountUpdate._declared_fields), "contact": tuple(ContactUpdate._declared_fields),
                 "product": tuple(ProductUpdate._declared_fields), "order": tuple(OrderUpdate._declared_fields)}

UPSERT_ACCOUNT = rpc("sales", "upsert_account", AccountCreate, AccountUpserted, permission=("account", "create"),
                     description="Create or update the account another system names by its id (keywords system, "
                                 "external_id); updating also needs account update.")
UPSERT_CONTACT = rpc("sales", "upsert_contact", ContactCreate, ContactUpserted, permission=("contact", "create"),
                     description="Create or update the contact another system names by its id.")
UPSERT_PRODUCT = rpc("sales", "upsert_product", ProductCreate, ProductUpserted, permission=("product", "create"),
                     description="Create or update the product another system names by its id.")
UPSERT_ORDER = rpc("sales", "upsert_order", OrderCreate, OrderUpserted, permission=("order", "create"),
                   description="Create or update the order another system names by its id; updating moves its "
                               "status along the flow (409 otherwise) and also needs order update.")


# -- bulk upserts for ETL: an NDJSON file, one record a line, run as a job (issue 15) -----------------

class BulkUpsertRequest(Strict):
    RULES = ("ndjson has at least one line, each a JSON object with its external_id and the fields as for a create",)

    ndjson = fields.String(required=True, metadata={
        "description": "one JSON object a line: `external_id` and the record's fields as for a create"})


def _bulk(resource: str, plural: str):
    start = rpc("sales", f"bulk_upsert_{plural}", BulkUpsertRequest, Job, permission=(resource, "create"),
                description=f"Upsert {plural} by external id (keyword system) from NDJSON, as a job; each line "
                            "as one PUT; a line that fails is reported with its row number and field.")
    get = rpc("sales", f"get_bulk_upsert_{plural}", None, Job, permission=(resource, "create"),
              description=f"A bulk upsert of {plural}: its progress and per-row errors (keyword job_id).")
    return start, get


BULK_UPSERT_ACCOUNTS, GET_BULK_UPSERT_ACCOUNTS = _bulk("account", "accounts")
BULK_UPSERT_CONTACTS, GET_BULK_UPSERT_CONTACTS = _bulk("contact", "contacts")
BULK_UPSERT_PRODUCTS, GET_BULK_UPSERT_PRODUCTS = _bulk("product", "products")
BULK_UPSERT_ORDERS, GET_BULK_UPSERT_ORDERS = _bulk("order", "orders")
