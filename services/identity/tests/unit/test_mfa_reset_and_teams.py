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


def test_the_user_turns_mfa_off_with_password_and_a_fresh_code_only(session, enrolled, events):
    user, totp, now = enrolled
    wrong_password = fails(lambda: mfa.disable(user, "not-it", totp.at(now + 30), now + 30), "validation_failed")
    assert "password" in wrong_password.errors
    assert "otp" in fails(lambda: mfa.disable(user, PASSWORD, "000000" if totp.at(now + 30) != "000000" else "111111",
                                              now + 30), "validation_failed").errors
    replayed = fails(lambda: mfa.disable(user, PASSWORD, totp.at(now), now), "validation_failed")  # used to enroll
    assert "otp" in replayed.errors and user.mfa_enabled
    mfa.disable(user, PASSWORD, totp.at(now + 30), now + 30)
    assert (user.mfa_enabled, user.mfa_secret, user.mfa_pending_secret, user.mfa_last_step) == (False, None, None, None)
    assert auth.login(session, events, "ada@example.com", PASSWORD, None, None).error is None  # no code needed
    fails(lambda: mfa.disable(user, PASSWORD, totp.at(now + 60), now + 60), "conflict")  # already off


def test_an_admin_resets_a_lost_device_and_the_users_sessions_end(session, enrolled, events, admin_actor):
    user, totp, now = enrolled
    pair = auth.login(session, events, "ada@example.com", PASSWORD, totp.at(now + 30), None).result
    assert pair and session.query(RefreshToken).filter(RefreshToken.revoked_at.is_(None)).count() == 1
    rep = Actor(user_id="rep-2", roles=("sales_rep",), perms=BUILTIN_ROLES["sales_rep"])
    fails(lambda: users.reset_mfa(session, rep, user.id, None), "forbidden")
    assert user.mfa_enabled
    fails(lambda: users.reset_mfa(session, admin_actor, user.id, user.version + 5), "precondition_failed")
    assert users.reset_mfa(session, admin_actor, user.id, user.version) is user
    session.refresh(user)
    assert not user.mfa_enabled and user.mfa_secret is None and user.tokens_valid_after is not None
    assert session.query(RefreshToken).filter(RefreshToken.revoked_at.is_(None)).count() == 0
    assert users.reset_mfa(session, admin_actor, user.id, None) is None  # nothing left to reset
    fails(lambda: users.reset_mfa(session, admin_actor, "no-such-user", None), "not_found")


def test_only_an_empty_team_is_deleted(session, admin_actor):
    member = User(email="bo@example.com", full_name="Bo", password_hash="x", roles=["sales_rep"], territory_ids=[])
    session.add(member)
    session.flush()
    team, _ = teams.create(session, admin_actor, {"name": "North", "member_ids": [member.id]})
    busy = fails(lambda: teams.delete(session, admin_actor, team.id, None), "conflict")
    assert busy.extra == {"member_ids": [member.id]} and session.get(Team, team.id) is not None
    rep = Actor(user_id=member.id, roles=("sales_rep",), perms=BUILTIN_ROLES["sales_rep"], team_id=team.id)
    teams.update(session, admin_actor, team.id, {"member_ids": []}, None)
    fails(lambda: teams.delete(session, rep, team.id, None), "forbidden")
    fails(lambda: teams.delete(session, admin_actor, team.id, team.version + 1), "precondition_failed")
    deleted = teams.delete(session, admin_actor, team.id, team.version)
    assert deleted == {"id": team.id, "name": "North", "manager_id": None, "member_ids": []}
    assert session.get(Team, team.id) is None
    fails(lambda: teams.delete(session, admin_actor, team.id, None), "not_found")
    again, _ = teams.create(session, admin_actor, {"name": "North"})  # the name is free again
    assert again.id != team.id
