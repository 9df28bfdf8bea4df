"""Orders upserted by external id (an ERP's orders): created priced and linked, a repeat changes nothing,
a later status moves it along its flow, the account's value follows once, scope and bad lines refused."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crm_sales_contracts as c
from crm_common import jobs
from crm_common.context import Actor
from crm_common.entrypoint import Context
from crm_common.errors import ServiceError
from crm_common.permissions import BUILTIN_ROLES
from crm_common.rpc import load_input
from crm_sales.domain import accounts, external_id_bulk, external_ids, orders
from crm_sales.models import Base, ExternalId, Order

LINES = [{"description": "Pump", "quantity": "2", "unit_price": "100.00", "discount_percent": "10"},
         {"description": "Fitting", "quantity": "3", "unit_price": "5.50"}]


def order_input(account_id=None, **more) -> dict:
    return load_input(c.UPSERT_ORDER, {"account_id": account_id, "currency": "EUR", "lines": LINES, **more})


def test_an_erp_order_is_created_priced_and_linked_and_a_repeat_changes_nothing(session, team, ctx, events):
    admin = ctx(team["admin"])
    account = accounts.create(admin, {"name": "Acme"})
    made = external_ids.upsert_order(admin, order_input(account.id), "erp", "SO-1001")
    assert made.created is True and made.status == "placed" and str(made.total) == "196.50"
    assert made.external_ids == [{"system": "erp", "external_id": "SO-1001"}]
    assert [t for t, _ in events if t.startswith("sales.order")] == ["sales.order_placed.v1"]
    assert str(session.get(type(account), account.id).total_value) == "196.50"

    again = external_ids.upsert_order(admin, order_input(account.id), "erp", "SO-1001")
    assert (again.id, again.created, again.version) == (made.id, False, made.version)
    assert session.scalar(select(func.count()).select_from(Order)) == 1
    assert str(session.get(type(account), account.id).total_value) == "196.50"  # counted once
    assert session.get(type(account), account.id).order_count == 1

    shown = c.Order().dump(external_ids.showing_links("order", orders.get)(admin, made.id))
    assert shown["external_ids"] == [{"system": "erp", "external_id": "SO-1001"}]
    listed = c.OrderPage().dump(external_ids.showing_links("order", orders.page)(admin, {"limit": 50}))
    assert [i["external_ids"] for i in listed["items"]] == [[{"system": "erp", "external_id": "SO-1001"}]]


def test_a_later_status_moves_the_order_along_its_flow_and_a_jump_is_a_conflict(session, team, ctx, events):
    admin = ctx(team["admin"])
    external_ids.upsert_order(admin, order_input(), "shop", "O-7")
    confirmed = external_ids.upsert_order(admin, order_input(status="confirmed"), "shop", "O-7")
    assert (confirmed.created, confirmed.status) == (False, "confirmed")
    assert events[-1][0] == "sales.order_status_changed.v1"
    with pytest.raises(ServiceError) as refused:
        external_ids.upsert_order(admin, order_input(status="delivered"), "shop", "O-7")
    assert refused.value.code == "conflict"
    assert session.get(Order, confirmed.id).status == "confirmed"


def test_scope_a_rep_places_for_their_own_account_only_and_updates_only_their_orders(session, team, ctx):
    theirs = accounts.create(ctx(team["r1"]), {"name": "Rep one's"})
    others = accounts.create(ctx(team["r3"]), {"name": "Rep three's"})
    with pytest.raises(ServiceError) as hidden:
        external_ids.upsert_order(ctx(team["r1"]), order_input(others.id), "erp", "SO-X")
    assert hidden.value.code == "not_found"
    made = external_ids.upsert_order(ctx(team["r1"]), order_input(theirs.id), "erp", "SO-Y")
    assert (made.owner_id, made.team_id) == ("r1", "t1")
    with pytest.raises(ServiceError) as not_theirs:  # r3 may update orders, but not r1's
        external_ids.upsert_order(ctx(team["r3"]), order_input(status="confirmed"), "erp", "SO-Y")
    assert not_theirs.value.code == "not_found"
    with pytest.raises(ServiceError) as marketer:
        external_ids.upsert_order(ctx(team["marketer"]), order_input(status="confirmed"), "erp", "SO-Y")
    assert marketer.value.code in ("forbidden", "not_found")
    assert session.get(Order, made.id).status == "placed"
    partner = Actor(user_id="p1", roles=("partner",), perms=BUILTIN_ROLES["partner"], partner_id="pa-1")
    with pytest.raises(ServiceError) as partners_route:  # a partner's users order through their partner's route
        external_ids.upsert_order(ctx(partner), order_input(), "erp", "SO-P")
    assert partners_route.value.code == "forbidden"
    assert session.scalar(select(func.count()).select_from(Order)) == 1


def test_a_line_with_an_unknown_product_is_a_422_naming_it(session, team, ctx):
    admin = ctx(team["admin"])
    bad = order_input(lines=[{"product_id": "00000000-0000-4000-8000-000000000000", "quantity": "1"}])
    with pytest.raises(ServiceError) as refused:
        external_ids.upsert_order(admin, bad, "erp", "SO-BAD")
    assert refused.value.code == "validation_failed" and "lines.0.product_id" in refused.value.errors
    assert session.scalar(select(func.count()).select_from(ExternalId)) == 0


def test_an_erp_file_of_orders_twice_ends_with_one_order_each_and_bad_rows_named(engine, team):
    good = [{"external_id": f"SO-{n}", "currency": "EUR", "lines": LINES} for n in range(5)]
    text = "\n".join([json.dumps(r) for r in good] + [json.dumps({"external_id": "SO-9", "currency": "EUR",
                                                                  "lines": []})]) + "\n"

    def run():
        with Session(engine) as session, session.begin():
            job = external_id_bulk.start_orders(Context(session, team["admin"], None, "r"), {"ndjson": text}, "erp")
        return jobs.run(engine, Base.metadata, job["id"], external_id_bulk.run)
    first, second = run(), run()
    assert (first["status"], first["succeeded"], first["failed"], first["result"]["created"]) == ("done", 5, 1, 5)
    assert [(e["row"], e["field"]) for e in first["errors"]] == [(6, "lines")]
    assert (second["succeeded"], second["result"]["created"]) == (5, 0)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 5
