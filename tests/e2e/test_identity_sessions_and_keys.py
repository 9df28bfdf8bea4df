"""Sessions and API keys through the gateway, as people and integrations use them: a team or territory
change reaches a live session within seconds, logout ends the access token, and an API key neither
acts on its owner's account nor outlives its owner's grants or its own revocation by more than seconds.

(The suite runs with CRM_TOKEN_CUTOFF_CACHE=1; "within seconds" below is 5 s, the default API key cache's
lifetime plus a margin.)"""
from __future__ import annotations

import random
import string
import uuid
from datetime import date

import pytest

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e

SECONDS = 5.0


def uniq() -> str:
    return uuid.uuid4().hex[:8]


def status_within(client, path, status, timeout=SECONDS, **kw) -> int:
    return eventually(lambda: client.get(path, **kw).status_code, timeout, until=lambda code: code == status)


def settled(fetch, until, timeout=SECONDS):
    """`fetch()` once `until` holds (several gateway workers each refresh their cache on their own)."""
    return eventually(fetch, timeout, until=until)


def lead(rep, **fields) -> dict:
    tag = uniq()
    response = rep.post("/api/v1/leads", json={"first_name": "Ada", "last_name": f"L-{tag}", "company": f"C {tag}",
                                               "email": f"ada-{tag}@engines.example", **fields})
    assert response.status_code == 201, response.text
    return response.json()


# -- defect 5: team and territory changes reach live sessions ---------------------------------------

def test_a_sales_manager_made_team_manager_sees_the_team_within_seconds_with_the_same_token(admin):
    team = admin.post("/api/v1/teams", json={"name": f"Late team {uniq()}"}).json()
    rep = admin.as_new_user(["sales_rep"], team_id=team["id"])
    the_lead = lead(rep)
    year = date.today().year
    deal = rep.post("/api/v1/opportunities", json={"name": "Team deal", "amount": "700.00", "currency": "CHF",
                                                   "expected_close_date": f"{year}-12-30"})
    assert deal.status_code == 201, deal.text
    manager = admin.as_new_user(["sales_manager"])  # logged in before the change
    forecast = {"period": str(year), "group_by": "team", "currency": "CHF"}
    assert manager.get(f"/api/v1/leads/{the_lead['id']}").status_code == 404
    assert team["id"] not in [g["key"] for g in manager.get("/api/v1/forecast", params=forecast).json()["groups"]]

    changed = admin.patch(f"/api/v1/teams/{team['id']}",
                          json={"manager_id": manager.user["id"], "member_ids": [rep.user["id"], manager.user["id"]]})
    assert changed.status_code == 200, changed.text

    assert status_within(manager, f"/api/v1/leads/{the_lead['id']}", 200) == 200
    listed = settled(lambda: [x["id"] for x in manager.get("/api/v1/leads", params={"limit": 100}).json()["items"]],
                     lambda ids: the_lead["id"] in ids)
    assert the_lead["id"] in listed
    pipeline = settled(lambda: [g["pipeline"] for g in manager.get("/api/v1/forecast", params=forecast).json()["groups"]
                                if g["key"] == team["id"]], lambda found: found == ["700.00"])
    assert pipeline == ["700.00"]
    assert manager.get("/api/v1/me").json()["team_id"] == team["id"]

    # and out again: removed from the team, the same token loses the team's records within seconds
    assert admin.patch(f"/api/v1/users/{manager.user['id']}", json={"team_id": None}).status_code == 200
    assert status_within(manager, f"/api/v1/leads/{the_lead['id']}", 404) == 404


def test_territories_given_in_identity_or_in_sales_reach_a_live_session_within_seconds(admin):
    role = admin.post("/api/v1/roles", json={"name": f"terr_reader_{uniq()}",
                                             "permissions": {"lead": {"read": "territory"}}})
    assert role.status_code == 201, role.text
    viewer = admin.as_new_user([role.json()["name"]])
    rep = admin.as_new_user(["sales_rep"])
    by_record, by_roster = (f"ind-{uniq()}" for _ in range(2))
    country = "X" + random.choice(string.ascii_uppercase)  # user-assigned codes: no other test's territory
    territories = {}
    for industry in (by_record, by_roster):
        made = admin.post("/api/v1/territories", json={"name": f"T {industry}", "countries": [country],
                                                       "industries": [industry]})
        assert made.status_code == 201, made.text
        territories[industry] = made.json()
    leads = {industry: lead(rep, country=country, industry=industry) for industry in (by_record, by_roster)}
    assert {industry: x["territory_id"] for industry, x in leads.items()} == {
        industry: t["id"] for industry, t in territories.items()}
    for x in leads.values():
        assert viewer.get(f"/api/v1/leads/{x['id']}").status_code == 404

    # on the user's record (identity)
    assert admin.patch(f"/api/v1/users/{viewer.user['id']}",
                       json={"territory_ids": [territories[by_record]["id"]]}).status_code == 200
    assert status_within(viewer, f"/api/v1/leads/{leads[by_record]['id']}", 200) == 200
    # on the territory's member list (sales)
    listed = admin.patch(f"/api/v1/territories/{territories[by_roster]['id']}", json={"member_ids": [viewer.user["id"]]})
    assert listed.status_code == 200, listed.text
    assert status_within(viewer, f"/api/v1/leads/{leads[by_roster]['id']}", 200) == 200
    assert viewer.get(f"/api/v1/leads/{leads[by_record]['id']}").status_code == 200
    both = [territories[by_record]["id"], territories[by_roster]["id"]]
    assert settled(lambda: viewer.get("/api/v1/me").json()["territory_ids"], lambda ids: ids == both) == both
    # taken off the list again
    assert admin.patch(f"/api/v1/territories/{territories[by_roster]['id']}",
                       json={"member_ids": []}).status_code == 200
    assert status_within(viewer, f"/api/v1/leads/{leads[by_roster]['id']}", 404) == 404


# -- defect 6: logout ends the access token ------------------------------------------------------------

def test_logout_ends_that_sessions_access_token_and_leaves_the_other_device_signed_in(admin):
    user = admin.create_user(["sales_rep"])
    laptop, phone = admin.login(user["email"], user["password"]), admin.login(user["email"], user["password"])
    assert laptop.post("/api/v1/auth/logout", json={"refresh_token": laptop.refresh_token}).status_code == 204
    assert status_within(laptop, "/api/v1/me", 401, timeout=2.0) == 401
    assert phone.get("/api/v1/me").status_code == 200
    refreshed = phone.post("/api/v1/auth/refresh", json={"refresh_token": phone.refresh_token})
    assert refreshed.status_code == 200
    assert laptop.post("/api/v1/auth/refresh", json={"refresh_token": laptop.refresh_token}).status_code == 401


def test_logout_everywhere_refuses_a_token_of_the_same_second_and_admits_a_new_login_at_once(admin):
    user = admin.create_user(["sales_rep"])
    session = admin.login(user["email"], user["password"])
    assert session.post("/api/v1/auth/logout", json={}).status_code == 204  # no refresh token: everywhere
    fresh = admin.login(user["email"], user["password"])  # right away, most likely in the same second
    assert status_within(session, "/api/v1/me", 401, timeout=2.0) == 401
    assert fresh.get("/api/v1/me").status_code == 200


# -- defect 7: API keys --------------------------------------------------------------------------------

@pytest.fixture
def owner(admin):
    """An administrator with a live session and a read-only integration key of theirs."""
    person = admin.as_new_user(["admin"])
    key = person.post("/api/v1/api-keys", json={"name": f"ESB {uniq()}", "roles": ["integration"]})
    assert key.status_code == 201, key.text
    person.key = key.json()
    return person


# route -> body: everything a key might try on its owner's account
OWN_ACCOUNT = [("POST", "/api/v1/auth/mfa/enroll", None), ("POST", "/api/v1/auth/mfa/verify", {"otp": "123456"}),
               ("POST", "/api/v1/auth/mfa/disable", {"password": "x", "otp": "123456"}),
               ("POST", "/api/v1/auth/logout", {}), ("POST", "/api/v1/auth/logout", {"refresh_token": "r"}),
               ("POST", "/api/v1/auth/password", {"current_password": "x", "new_password": "An0ther-Str0ng-Pass!"}),
               ("PATCH", "/api/v1/me", {"full_name": "Owned"})]


def test_an_api_key_cannot_act_on_its_owners_account(admin, owner):
    key = admin.clone(api_key=owner.key["key"])
    assert key.get("/api/v1/me").status_code == 200  # who am I: fine
    for method, path, body in OWN_ACCOUNT:
        response = key.request(method, path, json=body)
        assert response.status_code == 403, (path, response.text)
        assert response.headers["Content-Type"] == "application/problem+json"
        assert "API key may not act on its owner's account" in response.json()["detail"]
    me = owner.get("/api/v1/me")  # the owner's session lives on, unchanged
    assert me.status_code == 200 and me.json()["mfa_enabled"] is False and me.json()["full_name"] == "Test User"


def test_an_api_key_loses_within_seconds_what_its_owner_loses(admin, owner):
    key = admin.clone(api_key=owner.key["key"])
    assert key.get("/api/v1/complaints").status_code == 200  # integration reads service desk records
    assert admin.patch(f"/api/v1/users/{owner.user['id']}", json={"roles": ["sales_rep"]}).status_code == 200
    assert status_within(key, "/api/v1/complaints", 403) == 403  # a sales rep may not
    assert key.get("/api/v1/leads").status_code == 200  # what both grant stays
    assert settled(lambda: key.get("/api/v1/me").json()["perms"]["lead"]["read"], lambda s: s == "own") == "own"


def test_a_revoked_api_key_stops_within_seconds(admin, owner):
    key = admin.clone(api_key=owner.key["key"])
    for _ in range(4):  # cached in both gateway workers, most likely
        assert key.get("/api/v1/leads").status_code == 200
    assert owner.delete(f"/api/v1/api-keys/{owner.key['id']}").status_code == 204
    codes = settled(lambda: [key.get("/api/v1/leads").status_code for _ in range(4)], lambda c: c == [401] * 4,
                    timeout=SECONDS + 1)
    assert codes == [401] * 4
