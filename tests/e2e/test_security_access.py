"""Object-level authorization across users and teams on identity's {id} routes, and mass assignment."""
from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.e2e

PASSWORD = "Str0ng-Passw0rd-42!"


@pytest.fixture(scope="module")
def two_teams(admin):
    """A team-scoped user administrator in team A; users in team A and team B."""
    role = f"team_admin_{uuid.uuid4().hex[:6]}"
    assert admin.post("/api/v1/roles", json={"name": role, "permissions": {
        "user": {"read": "team", "update": "team", "delete": "team"},
        "team": {"read": "team", "update": "team"},
        "api_key": {"read": "own", "create": "own", "delete": "own"}}}).status_code == 201
    team_a = admin.post("/api/v1/teams", json={"name": f"A {uuid.uuid4().hex[:6]}"}).json()
    team_b = admin.post("/api/v1/teams", json={"name": f"B {uuid.uuid4().hex[:6]}"}).json()
    boss = admin.as_new_user([role], team_id=team_a["id"])
    # a peer: the boss changes no account whose grants exceed their own (a sales rep's do: see below)
    mate = admin.create_user([role], team_id=team_a["id"])
    rep = admin.create_user(["sales_rep"], team_id=team_a["id"])
    stranger = admin.create_user(["sales_rep"], team_id=team_b["id"])
    return {"boss": boss, "mate": mate, "rep": rep, "stranger": stranger, "team_a": team_a, "team_b": team_b,
            "role": role}


def test_out_of_scope_users_are_404_on_every_id_route(admin, two_teams):
    boss, stranger = two_teams["boss"], two_teams["stranger"]
    path = f"/api/v1/users/{stranger['id']}"
    assert boss.get(path).status_code == 404
    assert boss.patch(path, json={"full_name": "Renamed"}).status_code == 404
    assert boss.delete(path).status_code == 404
    untouched = admin.get(path).json()
    assert untouched["full_name"] == stranger["full_name"] and untouched["is_active"] is True
    listed = [u["id"] for u in boss.get("/api/v1/users", params={"limit": 200}).json()["items"]]
    assert stranger["id"] not in listed and two_teams["mate"]["id"] in listed
    assert boss.get(f"/api/v1/users/{uuid.uuid4()}").status_code == 404  # unknown looks the same


def test_in_scope_users_can_be_updated_but_not_privileged_fields(admin, two_teams):
    boss, mate = two_teams["boss"], two_teams["mate"]
    path = f"/api/v1/users/{mate['id']}"
    assert boss.patch(path, json={"full_name": "Team Mate"}).status_code == 200
    for field, value in (("roles", ["admin"]), ("is_active", False), ("team_id", two_teams["team_b"]["id"]),
                         ("email", "mine@crm.test"), ("password", "An0ther-Str0ng-Secret!")):
        refused = boss.patch(path, json={field: value})
        assert refused.status_code == 422, (field, refused.text)
        assert field in refused.json()["errors"]
    after = admin.get(path).json()
    assert after["roles"] == [two_teams["role"]] and after["is_active"] is True
    assert after["team_id"] == two_teams["team_a"]["id"] and after["email"] == mate["email"]
    # nor on itself
    assert boss.patch(f"/api/v1/users/{boss.user['id']}", json={"roles": ["admin"]}).status_code == 422
    # a team member whose grants exceed the boss's (a sales rep reads every user, works leads) is not theirs
    rep_path = f"/api/v1/users/{two_teams['rep']['id']}"
    assert boss.patch(rep_path, json={"full_name": "Renamed"}).status_code == 403
    assert boss.delete(rep_path).status_code == 403
    assert admin.get(rep_path).json()["full_name"] == two_teams["rep"]["full_name"]


def test_out_of_scope_teams_are_404(admin, two_teams):
    boss = two_teams["boss"]
    team_b = two_teams["team_b"]
    assert boss.get(f"/api/v1/teams/{team_b['id']}").status_code == 404
    assert boss.patch(f"/api/v1/teams/{team_b['id']}", json={"name": "Taken over"}).status_code == 404
    assert admin.get(f"/api/v1/teams/{team_b['id']}").json()["name"] == team_b["name"]
    assert boss.get(f"/api/v1/teams/{two_teams['team_a']['id']}").status_code == 200


def test_another_users_api_key_is_404(admin, two_teams):
    key = admin.post("/api/v1/api-keys", json={"name": "admin's", "roles": ["integration"]}).json()
    boss = two_teams["boss"]
    assert boss.delete(f"/api/v1/api-keys/{key['id']}").status_code == 404
    assert key["id"] not in [k["id"] for k in boss.get("/api/v1/api-keys").json()["items"]]
    assert suite_key_works(admin, key["key"])


def suite_key_works(admin, secret) -> bool:
    return admin.clone(api_key=secret).get("/api/v1/me").status_code == 200


def test_users_cannot_grant_themselves_more_through_roles(admin, two_teams):
    boss = two_teams["boss"]
    assert boss.post("/api/v1/roles", json={"name": f"x_{uuid.uuid4().hex[:6]}",
                                            "permissions": {"*": {"*": "all"}}}).status_code == 403
    assert boss.post("/api/v1/users", json={"email": f"x-{uuid.uuid4().hex[:6]}@crm.test", "full_name": "X",
                                            "password": PASSWORD, "roles": ["admin"]}).status_code == 403
