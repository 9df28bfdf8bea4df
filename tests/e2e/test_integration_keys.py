"""Integration keys as an administrator runs them: each API key has a rate limit of its own when one is set
(another key keeps the gateway's), and the audit trail says what each integration did (`?api_key_id=`)."""
from __future__ import annotations

import uuid

import pytest

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e


def new_key(admin, **fields):
    made = admin.post("/api/v1/api-keys", json={"name": f"ERP {uuid.uuid4().hex[:6]}", "roles": ["integration"],
                                                **fields})
    assert made.status_code == 201, made.text
    return made.json()


def test_a_key_with_a_limit_of_its_own_is_held_to_it_another_is_not(admin):
    limited, free = new_key(admin, rate_limit="3/minute"), new_key(admin)
    assert (limited["rate_limit"], free["rate_limit"]) == ("3/minute", None)
    slow, fast = admin.clone(api_key=limited["key"]), admin.clone(api_key=free["key"])
    codes = [slow.get("/api/v1/events", params={"limit": 1}) for _ in range(7)]
    # two gateway workers count in their own memory here (no Redis): 3 each at most, the first 3 always pass
    assert [r.status_code for r in codes[:3]] == [200, 200, 200]
    refused = [r for r in codes if r.status_code == 429]
    assert refused and int(refused[0].headers["Retry-After"]) >= 1
    assert [fast.get("/api/v1/events", params={"limit": 1}).status_code for _ in range(7)] == [200] * 7

    bad = admin.post("/api/v1/api-keys", json={"name": "bad", "roles": ["integration"], "rate_limit": "fast"})
    assert bad.status_code == 422 and "rate_limit" in bad.json()["errors"]
    changed = admin.patch(f"/api/v1/api-keys/{free['id']}", json={"rate_limit": "10/second;1000/hour"})
    assert changed.status_code == 200 and changed.json()["rate_limit"] == "10/second;1000/hour"
    listed = {k["id"]: k["rate_limit"] for k in admin.get("/api/v1/api-keys", params={"limit": 200}).json()["items"]}
    assert (listed[free["id"]], listed[limited["id"]]) == ("10/second;1000/hour", "3/minute")
    assert admin.patch(f"/api/v1/api-keys/{free['id']}", json={}).status_code == 422


def test_the_audit_trail_says_what_each_integration_did(admin):
    erp, shop = new_key(admin), new_key(admin)
    as_erp = admin.clone(api_key=erp["key"])
    by_erp = as_erp.post("/api/v1/leads", json={"last_name": "Keyed", "company": "ERP Ltd"})
    assert by_erp.status_code == 201, by_erp.text
    by_admin = admin.post("/api/v1/leads", json={"last_name": "Manual", "company": "Admin Ltd"})
    assert by_admin.status_code == 201, by_admin.text

    entries = eventually(lambda: admin.get("/api/v1/audit", params={"api_key_id": erp["id"]}).json()["items"],
                         until=lambda items: any(e["entity_id"] == by_erp.json()["id"] for e in items))
    assert ("lead", by_erp.json()["id"], "create", "api_key") in {
        (e["entity_type"], e["entity_id"], e["action"], e["actor_kind"]) for e in entries}
    assert {e["api_key_id"] for e in entries} == {erp["id"]}
    assert by_admin.json()["id"] not in {e["entity_id"] for e in entries}
    assert admin.get("/api/v1/audit", params={"api_key_id": shop["id"]}).json()["items"] == []
