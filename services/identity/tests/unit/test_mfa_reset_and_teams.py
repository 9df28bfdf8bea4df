"""Turning a second factor off (the user with password and code, or an administrator after a lost device)
and deleting teams (only empty ones)."""
import time

import pyotp
import pytest

from crm_common.context import Actor
from crm_common.errors import ServiceError
from crm_common.permissions import BUILTIN_ROLES
from crm_identity.domain import auth, mfa, teams, users
from crm_identity.models import RefreshToken, Team, User
from crm_identity_contracts import TEAM_DELETED, USER_UPDATED

PASSWORD = "Str0ng-Passw0rd-42!"  # the `user` fixture's (conftest.py)


@pytest.fixture
def enrolled(session, user):
    totp = pyotp.TOTP(mfa.enroll(user)["secret"])
    now = time.time()
    mfa.verify_enrollment(user, totp.at(now), now)
    session.flush()
    return user, totp, now


def fails(call, code):
    with pytest.raises(ServiceError) as info:
        call()
    assert info.value.code == code, info.value
    return info.value


def test_the_user_turns_mfa_off_with_password_and_a_fresh_code_only(session, enrolled, events, ctx_of):
    user, totp, now = enrolled
    wrong_password = fails(lambda: mfa.disable(user, "not-it", totp.at(now + 30), now + 30), "validation_failed")
    assert "password" in wrong_password.errors
    assert "otp" in fails(lambda: mfa.disable(user, PASSWORD, "000000" if totp.at(now + 30) != "000000" else "111111",
                                              now + 30), "validation_failed").errors
    replayed = fails(lambda: mfa.disable(user, PASSWORD, totp.at(now), now), "validation_failed")  # used to enroll
    assert "otp" in replayed.errors and user.mfa_enabled
    mfa.disable(user, PASSWORD, totp.at(now + 30), now + 30)
    assert (user.mfa_enabled, user.mfa_secret, user.mfa_pending_secret, user.mfa_last_step) == (False, None, None, None)
    assert auth.attempt_login(ctx_of(session), "ada@example.com", PASSWORD, None, None).error is None  # no code needed
    fails(lambda: mfa.disable(user, PASSWORD, totp.at(now + 60), now + 60), "conflict")  # already off


def test_an_admin_resets_a_lost_device_and_the_users_sessions_end(session, enrolled, events, admin_actor, ctx_of):
    user, totp, now = enrolled
    pair = auth.attempt_login(ctx_of(session), "ada@example.com", PASSWORD, totp.at(now + 30), None).result
    assert pair and session.query(RefreshToken).filter(RefreshToken.revoked_at.is_(None)).count() == 1
    rep = Actor(user_id="rep-2", roles=("sales_rep",), perms=BUILTIN_ROLES["sales_rep"])
    fails(lambda: users.reset_mfa(ctx_of(session, rep), user.id), "forbidden")
    assert user.mfa_enabled
    admin = ctx_of(session, admin_actor)
    fails(lambda: users.reset_mfa(admin, user.id, expected_version=user.version + 5), "precondition_failed")
    events.clear()
    users.reset_mfa(admin, user.id, expected_version=user.version)
    assert [(t, d["id"], d["changed_fields"]) for t, d, _ in events] == [(USER_UPDATED, user.id, ["mfa_enabled"])]
    session.refresh(user)
    assert not user.mfa_enabled and user.mfa_secret is None and user.tokens_valid_after is not None
    assert session.query(RefreshToken).filter(RefreshToken.revoked_at.is_(None)).count() == 0
    users.reset_mfa(admin, user.id)
    assert len(events) == 1  # nothing left to reset: no change, no event
    fails(lambda: users.reset_mfa(admin, "no-such-user"), "not_found")


def test_only_an_empty_team_is_deleted(session, admin_actor, ctx_of, events):
    member = User(email="bo@example.com", full_name="Bo", password_hash="x", roles=["sales_rep"], territory_ids=[])
    session.add(member)
    session.flush()
    admin = ctx_of(session, admin_actor)
    team = teams.create(admin, {"name": "North", "member_ids": [member.id]})
    busy = fails(lambda: teams.delete(admin, team["id"]), "conflict")
    assert busy.extra == {"member_ids": [member.id]} and session.get(Team, team["id"]) is not None
    rep = Actor(user_id=member.id, roles=("sales_rep",), perms=BUILTIN_ROLES["sales_rep"], team_id=team["id"])
    version = teams.update(admin, team["id"], {"member_ids": []})["version"]
    fails(lambda: teams.delete(ctx_of(session, rep), team["id"]), "forbidden")
    fails(lambda: teams.delete(admin, team["id"], expected_version=version + 1), "precondition_failed")
    teams.delete(admin, team["id"], expected_version=version)
    deleted = [d for t, d, _ in events if t == TEAM_DELETED]
    assert deleted == [{"id": team["id"], "name": "North", "manager_id": None, "member_ids": []}]
    assert session.get(Team, team["id"]) is None
    fails(lambda: teams.delete(admin, team["id"]), "not_found")
    again = teams.create(admin, {"name": "North"})  # the name is free again
    assert again["id"] != team["id"]
