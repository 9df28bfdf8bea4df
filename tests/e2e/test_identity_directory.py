"""Users, teams, roles and API keys through the gateway: the contract, scope and mass assignment."""
from __future__ import annotations

import uuid

import pytest

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e

PASSWORD = "Str0ng-Passw0rd-42!"


def _email():
    return f"u-{uuid.uuid4().hex[:10]}@crm.test"


def test_create_user_returns_201_location_etag_and_no_secret(admin):
    response = admin.post("/api/v1/users", json={"email": _email(), "full_name": "Ada Lovelace", "password": PASSWORD,
                                                 "roles": ["sales_rep"], "territory_ids": ["t-1"]})
    assert response.status_code == 201, response.text
    user = response.json()
    assert response.headers["Location"].endswith(f"/api/v1/users/{user['id']}")
    assert response.headers["ETag"] == f'"{user["version"]}"'
    for field in ("id", "email", "full_name", "roles", "team_id", "territory_ids", "is_active", "mfa_enabled",
                  "created_at"):
        assert field in user
    assert user["created_at"].endswith("Z")
    assert "password" not in response.text and "argon2" not in response.text
    fetched = admin.get(f"/api/v1/users/{user['id']}")
    assert fetched.status_code == 200 and fetched.json()["roles"] == ["sales_rep"]


def test_create_user_validation_is_422_with_field_errors(admin):
    response = admin.post("/api/v1/users", json={"email": "not-an-email", "full_name": "X", "password": "short",
                                                 "roles": ["sales_rep"]})
    assert response.status_code == 422
    assert "email" in response.json()["errors"]
    weak = admin.post("/api/v1/users", json={"email": _email(), "full_name": "X", "password": "short",
                                             "roles": ["no_such_role"]})
    assert weak.status_code == 422
    assert set(weak.json()["errors"]) >= {"password", "roles"}
    unknown_field = admin.post("/api/v1/users", json={"email": _email(), "full_name": "X", "password": PASSWORD,
                                                      "password_hash": "x"})
    assert unknown_field.status_code == 422


def test_patch_with_stale_if_match_is_412_and_changes_nothing(admin):
    user = admin.create_user(["sales_rep"])
    stale = admin.patch(f"/api/v1/users/{user['id']}", json={"full_name": "New Name"},
                        headers={"If-Match": f'"{user["version"] + 5}"'})
    assert stale.status_code == 412
    assert admin.get(f"/api/v1/users/{user['id']}").json()["full_name"] == user["full_name"]
    fresh = admin.patch(f"/api/v1/users/{user['id']}", json={"full_name": "New Name"},
                        headers={"If-Match": f'"{user["version"]}"'})
    assert fresh.status_code == 200 and fresh.json()["full_name"] == "New Name"


def test_sales_rep_cannot_write_users_or_escalate_itself(admin):
    rep = admin.as_new_user(["sales_rep"])
    other = admin.create_user(["sales_rep"])
    assert rep.get(f"/api/v1/users/{other['id']}").status_code == 200  # the directory is readable
    assert rep.patch(f"/api/v1/users/{other['id']}", json={"full_name": "Pwned"}).status_code == 403
    assert rep.patch(f"/api/v1/users/{rep.user['id']}", json={"roles": ["admin"]}).status_code == 403
    assert rep.delete(f"/api/v1/users/{other['id']}").status_code == 403
    assert rep.post("/api/v1/users", json={"email": _email(), "full_name": "X", "password": PASSWORD,
                                           "roles": ["admin"]}).status_code == 403
    # self-service: the name only; roles or flags through /me are refused
    assert rep.patch("/api/v1/me", json={"roles": ["admin"]}).status_code == 422
    assert rep.patch("/api/v1/me", json={"is_active": True}).status_code == 422
    renamed = rep.patch("/api/v1/me", json={"full_name": "Renamed Rep"})
    assert renamed.status_code == 200 and renamed.json()["roles"] == ["sales_rep"]
    assert admin.get(f"/api/v1/users/{other['id']}").json()["full_name"] == other["full_name"]


def test_portal_customer_sees_no_directory(admin):
    customer = admin.post("/api/v1/portal-customers", json={"email": _email(), "full_name": "Cust Omer",
                                                            "password": PASSWORD, "contact_id": str(uuid.uuid4())})
    assert customer.status_code == 201, customer.text
    client = admin.login(customer.json()["email"], PASSWORD)
    assert client.user["kind"] == "customer" and client.user["contact_id"] == customer.json()["contact_id"]
    assert client.get("/api/v1/users").status_code == 403
    assert client.get(f"/api/v1/users/{client.user['id']}").status_code == 403


def test_deactivation_blocks_login_and_refresh(admin, suite):
    client = admin.as_new_user(["sales_rep"])
    assert admin.delete(f"/api/v1/users/{client.user['id']}").status_code == 204
    assert admin.get(f"/api/v1/users/{client.user['id']}").json()["is_active"] is False
    assert suite.post("/api/v1/auth/refresh", json={"refresh_token": client.refresh_token}).status_code == 401
    login = suite.post("/api/v1/auth/login", json={"email": client.user["email"], "password": PASSWORD})
    assert login.status_code == 401


def test_role_change_revokes_refresh_and_new_token_carries_new_roles(admin, suite):
    client = admin.as_new_user(["sales_rep"])
    changed = admin.patch(f"/api/v1/users/{client.user['id']}", json={"roles": ["sales_manager"]})
    assert changed.status_code == 200 and changed.json()["roles"] == ["sales_manager"]
    assert suite.post("/api/v1/auth/refresh", json={"refresh_token": client.refresh_token}).status_code == 401
    again = admin.login(client.user["email"], PASSWORD)
    assert again.user["roles"] == ["sales_manager"]
    assert again.user["perms"]["lead"]["read"] == "team"


def test_list_users_paginates_filters_and_refuses_unknown_filters(admin):
    team = admin.post("/api/v1/teams", json={"name": f"List team {uuid.uuid4().hex[:6]}"}).json()
    for _ in range(3):
        admin.create_user(["sales_rep"], team_id=team["id"])
    page = admin.get("/api/v1/users", params={"team_id": team["id"], "limit": 2})
    assert page.status_code == 200
    body = page.json()
    assert len(body["items"]) == 2 and body["next_cursor"]
    rest = admin.get("/api/v1/users", params={"team_id": team["id"], "limit": 2, "cursor": body["next_cursor"]}).json()
    ids = [u["id"] for u in body["items"] + rest["items"]]
    assert len(ids) == len(set(ids)) == 3
    admins = admin.get("/api/v1/users", params={"role": "admin", "limit": 200}).json()["items"]
    assert admin.user["id"] in [u["id"] for u in admins] and all("admin" in u["roles"] for u in admins)
    by_email = admin.get("/api/v1/users", params={"email": admin.user["email"].upper()}).json()["items"]
    assert [u["id"] for u in by_email] == [admin.user["id"]]
    assert admin.get("/api/v1/users", params={"colour": "blue"}).status_code == 422
    assert admin.get("/api/v1/users", params={"limit": 500}).status_code == 422
    assert admin.get("/api/v1/users", params={"sort": "password_hash"}).status_code == 422


def test_teams_with_manager_and_members_and_scope(admin):
    manager = admin.create_user(["sales_manager"])
    member = admin.create_user(["sales_rep"])
    created = admin.post("/api/v1/teams", json={"name": f"Team {uuid.uuid4().hex[:6]}", "manager_id": manager["id"],
                                                "member_ids": [manager["id"], member["id"]]})
    assert created.status_code == 201, created.text
    team = created.json()
    assert team["manager_id"] == manager["id"] and sorted(team["member_ids"]) == sorted([manager["id"], member["id"]])
    assert admin.get(f"/api/v1/users/{member['id']}").json()["team_id"] == team["id"]
    bad = admin.post("/api/v1/teams", json={"name": f"Bad {uuid.uuid4().hex[:6]}", "manager_id": str(uuid.uuid4())})
    assert bad.status_code == 422 and "manager_id" in bad.json()["errors"]
    rep = admin.login(member["email"], PASSWORD)
    assert rep.get(f"/api/v1/teams/{team['id']}").status_code == 200
    assert rep.patch(f"/api/v1/teams/{team['id']}", json={"name": "Hijacked"}).status_code == 403
    renamed = admin.patch(f"/api/v1/teams/{team['id']}", json={"member_ids": [manager["id"]]},
                          headers={"If-Match": f'"{team["version"]}"'})
    assert renamed.status_code == 200 and renamed.json()["member_ids"] == [manager["id"]]
    assert admin.get(f"/api/v1/users/{member['id']}").json()["team_id"] is None


def test_only_an_empty_team_is_deleted_and_the_deletion_is_audited(admin):
    member = admin.create_user(["sales_rep"])
    team = admin.post("/api/v1/teams", json={"name": f"Gone {uuid.uuid4().hex[:6]}",
                                             "member_ids": [member["id"]]}).json()
    busy = admin.delete(f"/api/v1/teams/{team['id']}")
    assert busy.status_code == 409 and busy.json()["member_ids"] == [member["id"]]
    rep = admin.login(member["email"], PASSWORD)
    assert rep.delete(f"/api/v1/teams/{team['id']}").status_code == 403
    emptied = admin.patch(f"/api/v1/teams/{team['id']}", json={"member_ids": []}).json()
    stale = admin.delete(f"/api/v1/teams/{team['id']}", headers={"If-Match": f'"{emptied["version"] - 1}"'})
    assert stale.status_code == 412
    assert admin.delete(f"/api/v1/teams/{team['id']}", headers={"If-Match": f'"{emptied["version"]}"'}).status_code == 204
    assert admin.get(f"/api/v1/teams/{team['id']}").status_code == 404
    assert admin.delete(f"/api/v1/teams/{team['id']}").status_code == 404
    entries = eventually(lambda: admin.get("/api/v1/audit", params={"entity_type": "team", "entity_id": team["id"],
                                                                    "action": "delete"}).json()["items"])
    assert [e["event_type"] for e in entries] == ["identity.team_deleted.v1"]


def test_builtin_roles_are_listed_and_read_only_custom_roles_are_validated(admin):
    roles = admin.get("/api/v1/roles", params={"limit": 200})
    assert roles.status_code == 200
    by_name = {r["name"]: r for r in roles.json()["items"]}
    assert {"admin", "sales_manager", "sales_rep", "support_manager", "support_agent", "marketer", "analyst",
            "integration", "customer"} <= set(by_name)
    builtin = by_name["sales_rep"]
    assert builtin["builtin"] is True
    assert admin.patch(f"/api/v1/roles/{builtin['id']}", json={"description": "x"}).status_code == 403
    assert admin.delete(f"/api/v1/roles/{builtin['id']}").status_code == 403
    bad = admin.post("/api/v1/roles", json={"name": f"r_{uuid.uuid4().hex[:6]}",
                                            "permissions": {"lead": {"read": "everything"}, "spaceship": {}}})
    assert bad.status_code == 422 and "permissions" in bad.json()["errors"]
    name = f"auditor_{uuid.uuid4().hex[:6]}"
    created = admin.post("/api/v1/roles", json={"name": name, "permissions": {"lead": {"read": "all"}}})
    assert created.status_code == 201, created.text
    client = admin.as_new_user([name])
    assert client.user["perms"] == {"lead": {"read": "all"}}
    in_use = admin.delete(f"/api/v1/roles/{created.json()['id']}")
    assert in_use.status_code == 409


def test_api_key_shown_once_scoped_usable_and_revocable(admin, suite):
    created = admin.post("/api/v1/api-keys", json={"name": "ESB", "roles": ["integration"]})
    assert created.status_code == 201, created.text
    key = created.json()
    assert key["key"].startswith(key["prefix"])
    listed = admin.get("/api/v1/api-keys").json()["items"]
    mine = [k for k in listed if k["id"] == key["id"]]
    assert mine and "key" not in mine[0]
    assert key["key"] not in admin.get("/api/v1/api-keys").text
    client = suite.clone(api_key=key["key"])
    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["kind"] == "api_key" and me.json()["roles"] == ["integration"]
    assert client.get("/api/v1/users").status_code == 403  # integration has no user grant
    assert suite.clone(api_key=key["key"] + "x").get("/api/v1/me").status_code == 401
    assert admin.delete(f"/api/v1/api-keys/{key['id']}").status_code == 204
    revoked = [k for k in admin.get("/api/v1/api-keys", params={"include_revoked": "true"}).json()["items"]
               if k["id"] == key["id"]]
    assert revoked[0]["revoked_at"]


def test_api_key_roles_cannot_exceed_the_creators(admin):
    name = f"keymaker_{uuid.uuid4().hex[:6]}"
    assert admin.post("/api/v1/roles", json={"name": name, "permissions": {
        "api_key": {"create": "all", "read": "own", "delete": "own"}, "lead": {"read": "own"}}}).status_code == 201
    keymaker = admin.as_new_user([name])
    assert keymaker.post("/api/v1/api-keys", json={"name": "too wide", "roles": ["admin"]}).status_code == 422
    assert keymaker.post("/api/v1/api-keys", json={"name": "too wide", "roles": ["sales_rep"]}).status_code == 422
