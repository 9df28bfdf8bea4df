"""The price book, quotes (lines, discounts, tax, totals, approval) and the orders accepted quotes become."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Boolean, Day, DecimalString, Money, Percent, Timestamp, existing
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import Patch, Record, Strict, list_query, page
from crm_sales_contracts.links import external_ids_field
from crm_sales_contracts.field_types import Currency, EntityData, Id, Name, TextUpTo

QUOTE_STATUSES = ("draft", "sent", "accepted", "rejected")
ORDER_STATUSES = ("placed", "confirmed", "shipped", "delivered", "cancelled")


class ProductCreate(Strict):
    name = Name(required=True)
    sku = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9._-]{1,60}$"))
    description = TextUpTo(2000, allow_none=True)
    unit_price = Money(required=True, minimum=0)
    currency = Currency(required=True)
    active = Boolean(load_default=True)


class ProductUpdate(Patch):
    name = Name()
    description = TextUpTo(2000, allow_none=True)
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
    external_ids = external_ids_field()


class ProductFilters(Schema):
    SORTABLE = ("created_at", "name", "sku", "unit_price")
    active = fields.Boolean()
    currency = Currency()
    sku = fields.String(validate=validate.Length(max=60))


ProductListQuery = list_query("ProductListQuery", ProductFilters)
ProductPage = page(Product, "ProductPage")


# -- quotes ------------------------------------------------------------------------------------------

class QuoteLineInput(Strict):
    RULES = (existing("product_id") + " (an active product)",)

    product_id = Id(allow_none=True)
    description = TextUpTo(500, allow_none=True)
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
    terms = TextUpTo(5000, allow_none=True)
    lines = fields.List(fields.Nested(QuoteLineInput), required=True, validate=validate.Length(min=1, max=200))


class QuoteUpdate(Patch):
    tax_percent = Percent()
    valid_until = Day(allow_none=True)
    terms = TextUpTo(5000, allow_none=True)
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
    approved_at = Timestamp(allow_none=True)
    sent_at = Timestamp(allow_none=True)
    accepted_at = Timestamp(allow_none=True)
    valid_until = Day(allow_none=True)
    terms = fields.String(allow_none=True)
    order_id = fields.String(allow_none=True)


class QuoteFilters(Schema):
    SORTABLE = ("created_at", "total")
    status = fields.String(validate=validate.OneOf(QUOTE_STATUSES))
    account_id = Id()
    opportunity_id = Id()
    owner_id = Id()


QuoteListQuery = list_query("QuoteListQuery", QuoteFilters)
QuotePage = page(Quote, "QuotePage")


# -- orders ------------------------------------------------------------------------------------------

class Order(Record):
    quote_id = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)
    opportunity_id = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    status = fields.String()
    total = Money()
    currency = fields.String()
    lines = fields.List(fields.Nested(QuoteLine))
    placed_at = Timestamp()
    external_ids = external_ids_field()


class OrderCreate(Strict):
    """An order another system (ERP, e-commerce) placed, as its upsert by external id creates it; lines are
    priced as a quote's are. Only `status` changes on a later upsert (along the order's flow)."""
    RULES = (existing("account_id") + " (account read)", existing("lines.product_id") + " (an active product)",
             "a line without a product_id has a unit_price and a description",
             "the order's total stays below 10000000000000")

    account_id = Id(allow_none=True)
    currency = Currency(required=True)
    status = fields.String(validate=validate.OneOf(ORDER_STATUSES),
                           metadata={"description": "placed when not given; later upserts move it along the flow"})
    placed_at = Timestamp(allow_none=True, metadata={"description": "when the other system took the order; now "
                                                                    "when not given"})
    tax_percent = Percent(load_default="0")
    lines = fields.List(fields.Nested(QuoteLineInput), required=True, validate=validate.Length(min=1, max=200))


class OrderUpdate(Patch):
    status = fields.String(required=True, validate=validate.OneOf(ORDER_STATUSES))


class OrderFilters(Schema):
    SORTABLE = ("created_at", "placed_at", "total")
    status = fields.String(validate=validate.OneOf(ORDER_STATUSES))
    account_id = Id()
    owner_id = Id()


OrderListQuery = list_query("OrderListQuery", OrderFilters)
OrderPage = page(Order, "OrderPage")


# -- events ------------------------------------------------------------------------------------------

class QuoteEventData(EntityData):
    opportunity_id = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)
    total = fields.String(required=True)
    currency = fields.String(required=True)
    status = fields.String()
    order_id = fields.String(allow_none=True)


class OrderEventData(EntityData):
    quote_id = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)
    status = fields.String(required=True)
    previous_status = fields.String(allow_none=True)
    total = fields.String(required=True)
    currency = fields.String(required=True)
    product_ids = fields.List(fields.String(), metadata={"description": "the products of the order's lines"})


QUOTE_SENT = event("sales", "quote_sent", 1, QuoteEventData, "", entity="quote", action="update")
QUOTE_ACCEPTED = event("sales", "quote_accepted", 1, QuoteEventData, "", entity="quote", action="update")
ORDER_PLACED = event("sales", "order_placed", 1, OrderEventData, "", entity="order", action="create")
ORDER_STATUS_CHANGED = event("sales", "order_status_changed", 1, OrderEventData, "", entity="order",
                             action="update")

# -- RPCs --------------------------------------------------------------------------------------------

LIST_PRODUCTS = rpc("sales", "list_products", ProductListQuery, ProductPage, permission=("product", "read"))
CREATE_PRODUCT = rpc("sales", "create_product", ProductCreate, Product, permission=("product", "create"))
GET_PRODUCT = rpc("sales", "get_product", None, Product, permission=("product", "read"), record=True)
UPDATE_PRODUCT = rpc("sales", "update_product", ProductUpdate, Product, permission=("product", "update"), record=True)
DELETE_PRODUCT = rpc("sales", "delete_product", None, None, permission=("product", "delete"), record=True)

LIST_QUOTES = rpc("sales", "list_quotes", QuoteListQuery, QuotePage, permission=("quote", "read"))
CREATE_QUOTE = rpc("sales", "create_quote", QuoteCreate, Quote, permission=("quote", "create"))
GET_QUOTE = rpc("sales", "get_quote", None, Quote, permission=("quote", "read"), record=True)
UPDATE_QUOTE = rpc("sales", "update_quote", QuoteUpdate, Quote, permission=("quote", "update"), record=True)
DELETE_QUOTE = rpc("sales", "delete_quote", None, None, permission=("quote", "delete"), record=True)
APPROVE_QUOTE = rpc("sales", "approve_quote", None, Quote, permission=("quote", "admin"), record=True,
                    description="A manager approves the discounts of a quote (409: not a draft).")
SEND_QUOTE = rpc("sales", "send_quote", None, Quote, permission=("quote", "update"), record=True,
                 description="Send the quote to the customer (approved first if a discount is above the limit; "
                             "409: not possible in its status).")
REJECT_QUOTE = rpc("sales", "reject_quote", None, Quote, permission=("quote", "update"), record=True,
                   description="The customer declined the quote (409: not sent).")
ACCEPT_QUOTE = rpc("sales", "accept_quote", None, Order, permission=("quote", "update"), record=True,
                   description="The customer accepted: an order is placed (409: not sent, or accepted already).")

LIST_ORDERS = rpc("sales", "list_orders", OrderListQuery, OrderPage, permission=("order", "read"))
GET_ORDER = rpc("sales", "get_order", None, Order, permission=("order", "read"), record=True)
UPDATE_ORDER = rpc("sales", "update_order", OrderUpdate, Order, permission=("order", "update"), record=True)
