"""Tags through the gateway: a rep tags leads, accounts, contacts and deals and lists them by tag; the list
holds only the records the rep may see."""
from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.e2e


def test_a_rep_tags_records_and_lists_them_by_tag(admin):
    rep, other = admin.as_new_user(["sales_rep"]), admin.as_new_user(["sales_rep"])
    tag = f"fair-{uuid.uuid4().hex[:6]}"
    made = {
        "leads": rep.post("/api/v1/leads", json={"last_name": "Lin", "company": f"Lin {tag}", "tags": [tag, tag]}),
        "accounts": rep.post("/api/v1/accounts", json={"name": f"Acme {tag}", "tags": [tag, "vip"]}),
        "contacts": rep.post("/api/v1/contacts", json={"last_name": "Doe", "tags": [tag]}),
        "opportunities": rep.post("/api/v1/opportunities", json={"name": "Deal", "amount": "9.00", "currency": "EUR",
                                                                 "tags": [tag]}),
    }
    for path, response in made.items():
        assert response.status_code == 201, (path, response.text)
        assert response.json()["tags"][0] == tag and response.json()["tags"].count(tag) == 1
        listed = rep.get(f"/api/v1/{path}", params={"tag": tag}).json()["items"]
        assert [item["id"] for item in listed] == [response.json()["id"]], path
        assert other.get(f"/api/v1/{path}", params={"tag": tag}).json()["items"] == [], path
    deal = made["opportunities"].json()
    changed = rep.patch(f"/api/v1/opportunities/{deal['id']}", json={"tags": ["won-back"]},
                        headers={"If-Match": f'"{deal["version"]}"'})
    assert changed.status_code == 200 and changed.json()["tags"] == ["won-back"]
    assert rep.get("/api/v1/opportunities", params={"tag": tag}).json()["items"] == []
    too_long = rep.post("/api/v1/accounts", json={"name": "X", "tags": ["x" * 51]})
    assert too_long.status_code == 422 and "tags" in too_long.json()["errors"]
