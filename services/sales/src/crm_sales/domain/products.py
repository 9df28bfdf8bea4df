"""The price book: products with a unit price and currency."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select

import crm_sales_contracts as c
from crm_common.errors import ServiceError
from crm_sales.domain import records
from crm_sales.models import Product

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

SEARCH = (Product.name, Product.sku)
get = records.reader("product", Product)
page = records.lister("product", Product, c.ProductFilters.SORTABLE, SEARCH)
delete = records.deleter("product", Product)


def _unique_sku(session, sku: str, product_id: str | None = None) -> None:
    found = session.execute(select(Product.id).where(Product.sku == sku, Product.deleted_at.is_(None))).scalar()
    if found and found != product_id:
        raise ServiceError("conflict", "a product with this SKU exists", errors={"sku": ["already in use"]},
                           extra={"product_id": found})


def create(ctx: Context, data: dict) -> Product:
    _unique_sku(ctx.session, data["sku"])
    product = Product(**data)
    product.unit_price = Decimal(product.unit_price)
    ctx.session.add(product)
    ctx.session.flush()
    records.changed(ctx, "product", product.id, "create")
    return product


def update(ctx: Context, record_id: str, data: dict, expected_version: int | None = None) -> Product:
    product = records.load_for_update(ctx, "product", Product, record_id, expected_version)
    if "unit_price" in data:
        data["unit_price"] = Decimal(data["unit_price"])
    changed = records.apply(product, data, ("name", "description", "unit_price", "currency", "active"))
    ctx.session.flush()
    records.changed(ctx, "product", product.id, "update", changed)
    return product
