"""Upserts by external id, and the `external_ids` every read of an account, contact or product shows."""
from __future__ import annotations

from sqlalchemy import event

import crm_sales_contracts as c
from crm_sales.domain import accounts, external_ids, products


def test_get_and_list_show_each_records_links_in_one_query_per_page(session, team, ctx):
    admin = ctx(team["admin"])
    linked = [external_ids.upsert_account(admin, {"name": f"Linked {n}"}, "erp", f"E{n}") for n in range(3)]
    plain = accounts.create(admin, {"name": "Linked none"})

    get = external_ids.showing_links("account", accounts.get)
    shown = c.Account().dump(get(admin, linked[1].id))
    assert shown["external_ids"] == [{"system": "erp", "external_id": "E1"}]
    assert c.Account().dump(get(admin, plain.id))["external_ids"] == []

    statements = []
    event.listen(session.get_bind(), "before_cursor_execute", lambda *a: statements.append(a[2]))
    page = external_ids.showing_links("account", accounts.page)(admin, {"q": "Linked", "limit": 50})
    link_queries = [s for s in statements if "external_ids" in s]
    assert len(link_queries) == 1, link_queries
    by_name = {i["name"]: i["external_ids"] for i in c.AccountPage().dump(page)["items"]}
    assert by_name["Linked 1"] == [{"system": "erp", "external_id": "E1"}]
    assert by_name["Linked none"] == []
    assert len(by_name) == 4


def test_a_product_read_shows_its_link(session, team, ctx):
    admin = ctx(team["admin"])
    made = external_ids.upsert_product(admin, {"name": "Widget", "sku": "W-1", "unit_price": "10.00",
                                               "currency": "EUR"}, "shopify", "W-1")
    shown = c.Product().dump(external_ids.showing_links("product", products.get)(admin, made.id))
    assert shown["external_ids"] == [{"system": "shopify", "external_id": "W-1"}]
