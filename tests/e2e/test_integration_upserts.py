"""Upserts by external id, as an ERP's nightly sync does them: the first PUT creates and links, the next
updates the linked record, a second full run changes the count by nothing, racing PUTs of one key end with
one record, and a malformed key is a 422 naming it."""
from __future__ import annotations

import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e

COUNT = int(os.environ.get("CRM_E2E_UPSERT_COUNT", "40"))  # the 10,000 is a knob away; small here
BULK_COUNT = int(os.environ.get("CRM_E2E_BULK_UPSERT_COUNT", "500"))


def test_an_erp_upserting_its_accounts_twice_ends_with_one_record_each(admin):
    system, run = "erp-sap", uuid.uuid4().hex[:8]
    keys = [f"K{run}-{n:05d}" for n in range(COUNT)]

    def put(key, city=None):
        return admin.put(f"/api/v1/accounts/by-external-id/{system}/{key}",
                         json={"name": f"Acme {run} {key}", "industry": city or "manufacturing"})
    first = [put(k) for k in keys]
    assert {r.status_code for r in first} == {201}, first[0].text
    one = first[0].json()
    assert one["created"] is True and one["external_ids"] == [{"system": system, "external_id": keys[0]}]
    assert first[0].headers["Location"].endswith(f"/api/v1/accounts/{one['id']}") and first[0].headers["ETag"]
    second = [put(k, "retail") for k in keys]
    assert {r.status_code for r in second} == {200}
    assert [r.json()["id"] for r in second] == [r.json()["id"] for r in first]
    again = admin.get(f"/api/v1/accounts/{one['id']}").json()
    assert again["industry"] == "retail" and again["name"] == f"Acme {run} {keys[0]}"
    listed = admin.get("/api/v1/accounts", params={"q": f"Acme {run}", "limit": 200}).json()["items"]
    assert len(listed) == COUNT


def test_racing_puts_of_one_key_end_with_one_record(admin):
    key, name = uuid.uuid4().hex, f"Racing {uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: admin.put(f"/api/v1/contacts/by-external-id/shop/{key}",
                                                    json={"first_name": "Grace", "last_name": name}), range(4)))
    codes = sorted(r.status_code for r in answers)
    assert codes.count(201) == 1 and set(codes) <= {200, 201, 409}, [r.text for r in answers]
    ids = {r.json()["id"] for r in answers if r.status_code in (200, 201)}
    assert len(ids) == 1
    listed = admin.get("/api/v1/contacts", params={"q": name, "limit": 50}).json()["items"]
    assert len(listed) == 1


def test_products_upsert_and_a_malformed_key_is_a_422_naming_it(admin):
    sku = f"SKU-{uuid.uuid4().hex[:8]}"
    made = admin.put(f"/api/v1/products/by-external-id/shopify/{sku}",
                     json={"name": f"Widget {sku}", "sku": sku, "unit_price": "10.00", "currency": "EUR"})
    assert made.status_code == 201 and made.json()["external_ids"] == [{"system": "shopify", "external_id": sku}]
    changed = admin.put(f"/api/v1/products/by-external-id/shopify/{sku}",
                        json={"name": f"Widget {sku}", "sku": sku, "unit_price": "12.50", "currency": "EUR"})
    assert changed.status_code == 200 and changed.json()["unit_price"] == "12.50", changed.text
    bad = admin.put("/api/v1/accounts/by-external-id/bad%20system!/x", json={"name": "Nope"})
    assert bad.status_code == 422 and "system" in bad.json()["errors"], bad.text
    rep = admin.as_new_user(["marketer"])
    assert rep.put("/api/v1/accounts/by-external-id/erp/x1", json={"name": "Denied"}).status_code == 403


def test_get_and_list_show_the_external_ids_of_a_record(admin):
    key, name = uuid.uuid4().hex[:12], f"Shown {uuid.uuid4().hex[:8]}"
    made = admin.put(f"/api/v1/contacts/by-external-id/crm-old/{key}", json={"first_name": "Ada", "last_name": name})
    assert made.status_code == 201, made.text
    links = [{"system": "crm-old", "external_id": key}]
    assert admin.get(f"/api/v1/contacts/{made.json()['id']}").json()["external_ids"] == links
    listed = admin.get("/api/v1/contacts", params={"q": name}).json()["items"]
    assert [item["external_ids"] for item in listed] == [links]
    plain = admin.post("/api/v1/products", json={"name": f"Plain {key}", "sku": f"P-{key}", "unit_price": "1.00",
                                                 "currency": "EUR"})
    assert plain.status_code == 201, plain.text
    assert admin.get(f"/api/v1/products/{plain.json()['id']}").json()["external_ids"] == []


def _bulk(client, system: str, lines: list):
    body = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    started = client.post(f"/api/v1/accounts/by-external-id/{system}/bulk", data=body.encode(),
                          headers={"Content-Type": "application/x-ndjson"})
    assert started.status_code == 202, started.text
    job = started.json()
    location = started.headers["Location"]
    assert location.endswith(f"/api/v1/accounts/by-external-id/{system}/bulk/{job['id']}")
    path = location[location.index("/api/v1"):]
    return eventually(lambda: (lambda j: j if j["status"] in ("done", "failed") else None)(
        client.get(path).json()), 120)


def test_an_etl_file_upserted_twice_through_the_bulk_route_ends_with_one_account_each(admin):
    system, run = f"etl-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex[:8]
    lines = [{"external_id": f"B{run}-{n:05d}", "name": f"Bulk {run} {n}", "industry": "retail"}
             for n in range(BULK_COUNT)]
    first = _bulk(admin, system, lines)
    assert (first["status"], first["processed"], first["succeeded"], first["failed"]) == (
        "done", BULK_COUNT, BULK_COUNT, 0), first
    second = _bulk(admin, system, lines)
    assert (second["status"], second["succeeded"], second["result"]["created"]) == ("done", BULK_COUNT, 0)
    seen, cursor = [], None
    while True:
        page = admin.get("/api/v1/accounts", params={"q": f"Bulk {run}", "limit": 200,
                                                     **({"cursor": cursor} if cursor else {})}).json()
        seen += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert len(seen) == BULK_COUNT and len({item["id"] for item in seen}) == BULK_COUNT
    one = next(item for item in seen if item["name"] == f"Bulk {run} 7")
    assert one["external_ids"] == [{"system": system, "external_id": f"B{run}-00007"}]
    # the job is its owner's: another (who may upsert accounts) does not find it
    other = admin.as_new_user(["sales_rep"]).get(f"/api/v1/accounts/by-external-id/{system}/bulk/{first['id']}")
    assert other.status_code == 404


def test_a_bad_row_of_the_file_is_reported_by_its_number_and_field(admin):
    system, run = "etl-bad", uuid.uuid4().hex[:8]
    done = _bulk(admin, system, [{"external_id": f"G{run}-1", "name": f"Good {run} 1"},
                                 {"external_id": f"G{run}-2", "name": f"Good {run} 2", "employees": "many"},
                                 "{broken",
                                 {"external_id": f"G{run}-4", "name": f"Good {run} 4"}])
    assert (done["status"], done["succeeded"], done["failed"]) == ("done", 2, 2)
    assert [(e["row"], e["field"]) for e in done["errors"]] == [(2, "employees"), (3, "line")]
    listed = admin.get("/api/v1/accounts", params={"q": f"Good {run}"}).json()["items"]
    assert sorted(item["name"] for item in listed) == [f"Good {run} 1", f"Good {run} 4"]
    empty = admin.post(f"/api/v1/accounts/by-external-id/{system}/bulk", data=b"\n",
                       headers={"Content-Type": "application/x-ndjson"})
    assert empty.status_code == 422 and "ndjson" in empty.json()["errors"], empty.text


ORDER_LINES = [{"description": "Pump", "quantity": "2", "unit_price": "100.00", "discount_percent": "10"}]


def _all(client, path: str, params: dict) -> list:
    seen, cursor = [], None
    while True:
        page = client.get(path, params={**params, "limit": 200, **({"cursor": cursor} if cursor else {})}).json()
        seen += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return seen


def test_an_erp_upserting_its_orders_twice_ends_with_one_order_each_counted_once(admin):
    system, run = "erp-sap", uuid.uuid4().hex[:8]
    account = admin.put(f"/api/v1/accounts/by-external-id/{system}/C{run}", json={"name": f"Orders {run}"}).json()
    keys = [f"SO{run}-{n:04d}" for n in range(COUNT)]

    def put(key, **more):
        return admin.put(f"/api/v1/orders/by-external-id/{system}/{key}",
                         json={"account_id": account["id"], "currency": "EUR", "lines": ORDER_LINES, **more})
    first = [put(k) for k in keys]
    assert {r.status_code for r in first} == {201}, first[0].text
    one = first[0].json()
    assert (one["created"], one["status"], one["total"]) == (True, "placed", "180.00")
    assert one["external_ids"] == [{"system": system, "external_id": keys[0]}]
    assert first[0].headers["Location"].endswith(f"/api/v1/orders/{one['id']}") and first[0].headers["ETag"]
    second = [put(k) for k in keys]  # the nightly run again: nothing new, nothing counted twice
    assert {r.status_code for r in second} == {200}, second[0].text
    assert [r.json()["id"] for r in second] == [r.json()["id"] for r in first]
    listed = _all(admin, "/api/v1/orders", {"account_id": account["id"]})
    assert sorted((x["system"], x["external_id"]) for o in listed for x in o["external_ids"]) == \
        [(system, k) for k in keys]
    shown = admin.get(f"/api/v1/accounts/{account['id']}").json()
    assert shown["order_count"] == COUNT, shown
    moved = put(keys[0], status="confirmed")
    assert (moved.status_code, moved.json()["status"]) == (200, "confirmed"), moved.text
    assert admin.get(f"/api/v1/orders/{one['id']}").json()["external_ids"] == one["external_ids"]
    jump = put(keys[1], status="delivered")
    assert jump.status_code == 409, jump.text


def test_order_upserts_refuse_bad_lines_and_keep_to_the_callers_scope(admin):
    run = uuid.uuid4().hex[:8]
    account = admin.post("/api/v1/accounts", json={"name": f"Admin's {run}"}).json()
    bad = admin.put(f"/api/v1/orders/by-external-id/shop/B{run}",
                    json={"account_id": account["id"], "currency": "EUR",
                          "lines": [{"description": "Nothing", "quantity": "-1", "unit_price": "1.00"}]})
    assert bad.status_code == 422 and bad.headers["Content-Type"].startswith("application/problem+json"), bad.text
    assert any(name.startswith("lines") for name in bad.json()["errors"]), bad.text
    assert admin.get("/api/v1/orders", params={"account_id": account["id"]}).json()["items"] == []
    made = admin.put(f"/api/v1/orders/by-external-id/shop/A{run}",
                     json={"account_id": account["id"], "currency": "EUR", "lines": ORDER_LINES})
    assert made.status_code == 201, made.text
    rep = admin.as_new_user(["sales_rep"])
    hidden = rep.put(f"/api/v1/orders/by-external-id/shop/R{run}",
                     json={"account_id": account["id"], "currency": "EUR", "lines": ORDER_LINES})
    assert hidden.status_code == 404, hidden.text  # another's account: not found, and nothing made
    not_theirs = rep.put(f"/api/v1/orders/by-external-id/shop/A{run}",
                         json={"currency": "EUR", "lines": ORDER_LINES, "status": "cancelled"})
    assert not_theirs.status_code == 404, not_theirs.text
    assert admin.get(f"/api/v1/orders/{made.json()['id']}").json()["status"] == "placed"
    marketer = admin.as_new_user(["marketer"])
    assert marketer.put(f"/api/v1/orders/by-external-id/shop/M{run}",
                        json={"currency": "EUR", "lines": ORDER_LINES}).status_code == 403
    assert len(admin.get("/api/v1/orders", params={"account_id": account["id"]}).json()["items"]) == 1


def test_an_etl_file_of_orders_twice_through_the_bulk_route_ends_with_one_order_each(admin):
    system, run = f"etl-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex[:8]
    account = admin.post("/api/v1/accounts", json={"name": f"Bulk orders {run}"}).json()
    lines = [json.dumps({"external_id": f"O{run}-{n}", "account_id": account["id"], "currency": "EUR",
                         "lines": ORDER_LINES}) for n in range(20)] + ['{"external_id": "bad", "currency": "EUR"}']
    body = ("\n".join(lines) + "\n").encode()

    def bulk():
        started = admin.post(f"/api/v1/orders/by-external-id/{system}/bulk", data=body,
                             headers={"Content-Type": "application/x-ndjson"})
        assert started.status_code == 202, started.text
        path = started.headers["Location"][started.headers["Location"].index("/api/v1"):]
        return eventually(lambda: (lambda j: j if j["status"] in ("done", "failed") else None)(
            admin.get(path).json()), 120)
    first, second = bulk(), bulk()
    assert (first["status"], first["succeeded"], first["failed"], first["result"]["created"]) == ("done", 20, 1, 20)
    assert [(e["row"], e["field"]) for e in first["errors"]] == [(21, "lines")]
    assert (second["succeeded"], second["result"]["created"]) == (20, 0)
    assert len(_all(admin, "/api/v1/orders", {"account_id": account["id"]})) == 20
