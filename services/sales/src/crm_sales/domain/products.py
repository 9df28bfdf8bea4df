"""The price book: products with a unit price and currency."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from crm_common.context import Actor
from crm_common.errors import ServiceError
from crm_sales.domain import records
from crm_sales.models import Product

SEARCH = (Product.name, Product.sku)


def _unique_sku(session, sku: str, product_id: str | None = None) -> None:
    found = session.execute(select(Product.id).where(Product.sku == sku, Product.deleted_at.is_(None))).scalar()
    if found and found != product_id:
        raise ServiceError("conflict", "a product with this SKU exists", errors={"sku": ["already in use"]},
                           extra={"product_id": found})


def create(session, actor: Actor, data: dict, emit) -> Product:
    _unique_sku(session, data["sku"])
    product = Product(**data)
    product.unit_price = Decimal(product.unit_price)
    session.add(product)
    session.flush()
    records.changed(emit, "product", product.id, "create")
    return product


def update(session, actor: Actor, product_id: str, data: dict, expected_version: int | None, emit) -> Product:
    product = records.load_for_update(session, actor, "product", Product, product_id, expected_version)
    if "unit_price" in data:
        data["unit_price"] = Decimal(data["unit_price"])
    changed = records.apply(product, data, ("name", "description", "unit_price", "currency", "active"))
    session.flush()
    records.changed(emit, "product", product.id, "update", changed)
    return product


def delete(session, actor: Actor, product_id: str, emit) -> None:
    records.delete(session, actor, "product", Product, product_id, emit)
