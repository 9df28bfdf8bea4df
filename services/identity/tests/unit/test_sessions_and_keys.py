"""Sessions and API keys: the exact revocation cutoff, ending one session, membership now, the absolute
session lifetime, and API keys bounded by their owner."""
from datetime import datetime, timedelta, timezone

import jwt
import pytest

from crm_common.context import Actor
from crm_common.db import utcnow
from crm_common.errors import ServiceError
from crm_common.permissions import BUILTIN_ROLES
from crm_identity import handlers
from crm_identity.domain import apikeys, auth, territories, tokens
from crm_identity.models import RefreshToken, User

T0 = datetime(2026, 12, 3, 12, 0, 0, 100000, tzinfo=timezone.utc)


def _user(session, roles=("sales_manager",), **kw) -> User:
    user = User(email=kw.pop("email", "mia@example.com"), full_name="Mia", password_hash="x", roles=list(roles),
                territory_ids=kw.pop("territory_ids", []), **kw)
    session.add(user)
    session.flush()
    return user


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _actor(user: User) -> Actor:
    return Actor(user_id=user.id, kind=user.kind, roles=tuple(user.roles))


# -- the revocation cutoff ---------------------------------------------------------------------------

def test_the_cutoff_separates_tokens_issued_in_the_same_second_before_and_after_a_revocation(session):
    user = _user(session)
    before = tokens.access_claims(user, {}, T0)                                   # 12:00:00.100
    tokens.revoke_user(session, user.id, T0 + timedelta(milliseconds=200))      # 12:00:00.300: logout everywhere
    after = tokens.access_claims(user, {}, T0 + timedelta(milliseconds=300))    # 12:00:00.400: a new login
    session.expire_all()  # revoke_user writes with a bulk UPDATE; the gateway asks in a later transaction
    state = tokens.cutoff(session, user)
    assert before["iat"] == after["iat"]  # the same whole second
    assert before["iat_us"] == 1796299200100000 and after["iat_us"] == 1796299200400000
    assert state["valid_after_us"] == 1796299200300000
    assert before["iat_us"] <= state["valid_after_us"] < after["iat_us"]
    assert state["valid_after"] == 1796299201  # whole seconds rounded up, for tokens without iat_us


def test_logout_with_a_refresh_token_ends_that_session_and_the_one_of_the_token_used_only(session, ctx_of):
    user = _user(session)
    first, second, third = (auth.issue_pair(session, user) for _ in range(3))
    sid = {name: _claims(pair["access_token"])["sid"] for name, pair in
           (("first", first), ("second", second), ("third", third))}
    assert len(set(sid.values())) == 3
    assert auth.logout(ctx_of(session, _actor(user)), {"refresh_token": first["refresh_token"]},
                       session_id=sid["second"]) >= 2
    session.expire_all()
    state = tokens.cutoff(session, user)
    assert state["ended_sessions"] == sorted([sid["first"], sid["second"]])
    assert state["valid_after_us"] is None and state["active"] is True
    with pytest.raises(tokens.RefreshRefused):
        tokens.rotate(session, first["refresh_token"])
    tokens.rotate(session, third["refresh_token"])  # the other device keeps its session


def test_logout_cannot_end_someone_elses_session_and_an_api_key_cannot_log_out(session, ctx_of):
    owner, other = _user(session), _user(session, email="other@example.com")
    theirs = auth.issue_pair(session, other)
    their_sid = _claims(theirs["access_token"])["sid"]
    assert auth.logout(ctx_of(session, _actor(owner)), {"refresh_token": theirs["refresh_token"]},
                       session_id=their_sid) == 0
    key = Actor(user_id=owner.id, kind="api_key", roles=("integration",))
    mine = auth.issue_pair(session, owner)
    assert auth.logout(ctx_of(session, key), {}) == 0  # "everywhere" with a key: nothing ends
    assert auth.logout(ctx_of(session, key), {"refresh_token": mine["refresh_token"]}) == 0
    session.expire_all()
    assert tokens.cutoff(session, other)["ended_sessions"] == []
    assert tokens.cutoff(session, owner)["ended_sessions"] == [] and owner.tokens_valid_after is None


def test_a_session_ended_long_enough_ago_leaves_the_list(session):
    user = _user(session)
    pair = auth.issue_pair(session, user)
    chain = _claims(pair["access_token"])["sid"]
    tokens.revoke_chain(session, chain, utcnow() - timedelta(minutes=16))  # its access tokens have expired
    assert tokens.cutoff(session, user)["ended_sessions"] == []


# -- membership now ----------------------------------------------------------------------------------

def test_the_cutoff_gives_the_team_and_territories_the_user_has_now(session):
    user = _user(session, team_id="team-a", territory_ids=["terr-1"])
    token = _claims(auth.issue_pair(session, user)["access_token"])
    assert token["team_id"] == "team-a" and token["territory_ids"] == ["terr-1"]
    user.team_id = "team-b"
    assert territories.apply_roster(session, "terr-9", [user.id, "someone"], 3)
    state = tokens.cutoff(session, user)
    assert state["team_id"] == "team-b" and state["territory_ids"] == ["terr-1", "terr-9"]
    assert not territories.apply_roster(session, "terr-9", [], 2)  # older news loses
    assert tokens.cutoff(session, user)["territory_ids"] == ["terr-1", "terr-9"]
    assert territories.apply_roster(session, "terr-9", ["someone"], 4)
    assert tokens.cutoff(session, user)["territory_ids"] == ["terr-1"]


def test_sales_territory_members_reach_identity_through_the_handler_table(session, ctx_of):
    user = _user(session)
    envelope = {"event_id": "e-1", "type": "sales.territory_members_changed.v1", "producer": "sales",
                "occurred_at": "2026-12-03T12:00:00Z", "actor": {}, "request_id": None,
                "data": {"id": "terr-7", "member_ids": [user.id], "version": 1}}
    assert handlers.dispatch(ctx_of(session), envelope) is True
    assert tokens.cutoff(session, user)["territory_ids"] == ["terr-7"]
    assert _claims(auth.issue_pair(session, user)["access_token"])["territory_ids"] == ["terr-7"]


# -- the absolute session lifetime -------------------------------------------------------------------

def test_rotation_never_extends_a_session_past_its_maximum_age(session, monkeypatch):
    monkeypatch.delenv("CRM_SESSION_MAX_AGE", raising=False)
    user = _user(session)
    secret = tokens.issue_refresh(session, user.id, now=T0)
    for day in (13, 26):  # each rotation within the 14-day refresh lifetime
        _, secret = tokens.rotate(session, secret, now=T0 + timedelta(days=day))
    last = session.query(RefreshToken).filter_by(token_hash=tokens.digest(secret)).one()
    assert last.session_started_at == T0
    assert last.expires_at == T0 + timedelta(days=30)  # not day 26 + 14
    with pytest.raises(tokens.RefreshRefused):
        tokens.rotate(session, secret, now=T0 + timedelta(days=30, seconds=1))


def test_a_refresh_past_the_configured_maximum_age_is_refused(session, monkeypatch, ctx_of):
    user = _user(session)
    monkeypatch.setenv("CRM_SESSION_MAX_AGE", "3600")
    pair = auth.issue_pair(session, user)
    access = _claims(pair["access_token"])
    assert access["exp"] - access["iat"] == 900
    record = session.query(RefreshToken).one()
    record.session_started_at -= timedelta(seconds=3500)  # the login was 58 minutes ago
    session.flush()
    fine = auth.attempt_refresh(ctx_of(session), pair["refresh_token"])
    assert fine.error is None
    capped = _claims(fine.result["access_token"])
    assert capped["exp"] - capped["iat"] <= 101  # the access token ends with the session
    record = session.query(RefreshToken).filter_by(token_hash=tokens.digest(fine.result["refresh_token"])).one()
    record.session_started_at -= timedelta(seconds=200)  # now 61 minutes in
    session.flush()
    ended = auth.attempt_refresh(ctx_of(session), fine.result["refresh_token"])
    assert ended.result is None and ended.error.code == "unauthenticated"


# -- API keys bounded by their owner -----------------------------------------------------------------

def test_a_key_loses_what_its_owner_loses(session, ctx_of):
    owner = _user(session, roles=("admin",))
    creator = Actor(user_id=owner.id, roles=("admin",), perms={"*": {"*": "all"}})
    integration = apikeys.create(ctx_of(session, creator), {"name": "ESB", "roles": ["integration"]})["key"]
    full = apikeys.create(ctx_of(session, creator), {"name": "ops", "roles": ["admin"]})["key"]
    assert apikeys.authenticate(session, integration).perms == BUILTIN_ROLES["integration"]
    assert apikeys.authenticate(session, full).is_admin

    owner.roles = ["sales_rep"]  # demoted
    session.flush()
    key = apikeys.authenticate(session, integration)
    expected = {  # (resource, action): scope, written down from the two roles' grants
        ("lead", "read"): "own", ("lead", "create"): "own", ("lead", "update"): "own", ("lead", "delete"): "none",
        ("account", "read"): "own", ("ticket", "read"): "own", ("ticket", "create"): "none",
        ("product", "read"): "all", ("territory", "read"): "all", ("kb_article", "read"): "own",
        ("webhook", "create"): "none", ("event_feed", "read"): "none", ("user", "read"): "none",
        ("segment", "read"): "none",
    }
    assert {pair: key.scope(*pair) for pair in expected} == expected
    assert key.roles == ()  # the owner can no longer grant what "integration" grants
    demoted_admin_key = apikeys.authenticate(session, full)
    assert not demoted_admin_key.is_admin and demoted_admin_key.roles == ()
    assert demoted_admin_key.scope("user", "admin") == "none" and demoted_admin_key.scope("lead", "read") == "own"


def test_a_key_carries_its_owners_team_and_territories_now(session, ctx_of):
    owner = _user(session, roles=("admin",), team_id="team-a", territory_ids=["terr-1"])
    creator = Actor(user_id=owner.id, roles=("admin",), perms={"*": {"*": "all"}})
    secret = apikeys.create(ctx_of(session, creator), {"name": "ESB", "roles": ["integration"]})["key"]
    territories.apply_roster(session, "terr-2", [owner.id], 1)
    owner.team_id = "team-b"
    key = apikeys.authenticate(session, secret)
    assert key.team_id == "team-b" and key.territory_ids == ("terr-1", "terr-2")


def test_the_narrower_scope_wins_for_every_pair():
    key = Actor(kind="api_key", perms={"*": {"read": "all"}, "lead": {"*": "team"}})
    owner = Actor(perms={"lead": {"read": "own", "delete": "all"}, "ticket": {"read": "territory"}})
    assert apikeys.within(key, owner) == {"lead": {"read": "own", "delete": "team"}, "ticket": {"read": "territory"}}


def test_a_key_of_an_erased_owner_is_refused(session, ctx_of):
    owner = _user(session, roles=("admin",))
    creator = Actor(user_id=owner.id, roles=("admin",), perms={"*": {"*": "all"}})
    secret = apikeys.create(ctx_of(session, creator), {"name": "ESB", "roles": ["integration"]})["key"]
    owner.erased_at = utcnow()
    with pytest.raises(ServiceError):
        apikeys.authenticate(session, secret)
