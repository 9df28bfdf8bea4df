"""Login, refresh and MFA rules (domain.auth) without a broker."""
import time
from contextlib import contextmanager

import pyotp
import pytest
from argon2 import PasswordHasher

from crm_common.context import Actor
from crm_common.entrypoint import run
from crm_common.errors import ServiceError
from crm_identity.domain import auth, mfa, passwords, throttle
from crm_identity.models import RefreshToken, User
from crm_identity_contracts import LOGIN_FAILED, LOGIN_SUCCEEDED

PASSWORD = "Str0ng-Passw0rd-42!"  # the `user` fixture's (conftest.py)


def test_success_issues_a_pair_and_emits_login_succeeded(session, user, events, ctx_of):
    outcome = auth.attempt_login(ctx_of(session), "ADA@example.com", PASSWORD, None, "10.0.0.1")
    assert outcome.error is None
    assert set(outcome.result) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert events.types() == [LOGIN_SUCCEEDED]
    data = events[0][1]
    assert data["user_id"] == user.id and data["email_hash"] == throttle.email_hash("ada@example.com")
    assert PASSWORD not in str(events)


class Service:
    """What `crm_common.entrypoint.run` needs of a service: its unit of work (`db`), here over `session`."""

    def __init__(self, session, events):
        self.db = self
        self.session, self.caller, self.emit, self.request_id = session, Actor(kind="anonymous"), events, None
        self.committed = 0

    @contextmanager
    def transaction(self):
        yield self.session
        self.session.flush()
        self.committed += 1


def test_the_rpc_commits_a_refused_login_and_then_refuses(session, user, events):
    service = Service(session, events)
    with pytest.raises(ServiceError) as refused:
        run(service, auth.login, {"email": "ada@example.com", "password": "Wrong-Passw0rd-1"}, client_ip="10.0.0.1")
    assert refused.value.code == "unauthenticated" and service.committed == 1
    assert events.types() == [LOGIN_FAILED] and events[0][1]["client_ip"] == "10.0.0.1"
    pair = run(service, auth.login, {"email": "ada@example.com", "password": PASSWORD}, client_ip="10.0.0.1")
    assert pair["token_type"] == "Bearer" and events.types() == [LOGIN_FAILED, LOGIN_SUCCEEDED]


def test_wrong_password_unknown_email_and_inactive_user_fail_alike(session, user, events, ctx_of):
    inactive = User(email="gone@example.com", full_name="Gone", password_hash=passwords.hash_password(PASSWORD),
                    roles=["sales_rep"], territory_ids=[], is_active=False)
    session.add(inactive)
    session.flush()
    errors = [auth.attempt_login(ctx_of(session), email, pw, None, "10.0.0.1").error
              for email, pw in (("ada@example.com", "Wrong-Passw0rd-1"), ("nobody@example.com", PASSWORD),
                                ("gone@example.com", PASSWORD))]
    assert {(e.code, e.detail, tuple(e.extra.items())) for e in errors} == {("unauthenticated", auth.UNAUTHENTICATED_DETAIL, ())}
    assert events.types() == [LOGIN_FAILED] * 3
    assert [d["reason"] for _, d, _ in events] == ["bad_password", "unknown_email", "inactive"]
    assert [d["user_id"] for _, d, _ in events] == [user.id, None, None]


def test_unknown_email_costs_about_as_much_as_a_wrong_password(session, user, events, ctx_of):
    def timed(email):  # this process's CPU time: what the attempt costs, whatever else the machine runs
        start = time.process_time()
        auth.attempt_login(ctx_of(session), email, "Wrong-Passw0rd-1", None, None)
        return time.process_time() - start
    known, unknown = [], []
    for _ in range(3):  # in turns
        known.append(timed("ada@example.com"))
        unknown.append(timed("nobody@example.com"))
    assert min(unknown) > min(known) * 0.5  # both pay for an argon2id verification


def test_login_rehashes_a_hash_made_with_old_parameters(session, user, events, ctx_of):
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    assert auth.attempt_login(ctx_of(session), "ada@example.com", PASSWORD, None, None).error is None
    assert "m=19456,t=2,p=1" in user.password_hash and passwords.verify(user.password_hash, PASSWORD)


def test_throttled_account_is_refused_even_with_the_right_password(session, user, events, ctx_of):
    for _ in range(5):
        auth.attempt_login(ctx_of(session), "ada@example.com", "Wrong-Passw0rd-1", None, "10.0.0.1")
    outcome = auth.attempt_login(ctx_of(session), "ada@example.com", PASSWORD, None, "10.0.0.1")
    assert outcome.error.code == "rate_limited" and outcome.error.extra["retry_after"] > 0


def test_refresh_rotates_and_refuses_deactivated_users(session, user, events, ctx_of):
    pair = auth.attempt_login(ctx_of(session), "ada@example.com", PASSWORD, None, None).result
    rotated = auth.attempt_refresh(ctx_of(session), pair["refresh_token"])
    assert rotated.error is None and rotated.result["refresh_token"] != pair["refresh_token"]
    assert auth.attempt_refresh(ctx_of(session), pair["refresh_token"]).error.code == "unauthenticated"
    second = auth.attempt_login(ctx_of(session), "ada@example.com", PASSWORD, None, None).result
    user.is_active = False
    assert auth.attempt_refresh(ctx_of(session), second["refresh_token"]).error.code == "unauthenticated"


def test_logout_revokes_only_the_callers_chain(session, user, events, admin_actor, ctx_of):
    pair = auth.attempt_login(ctx_of(session), "ada@example.com", PASSWORD, None, None).result
    token = {"refresh_token": pair["refresh_token"]}
    assert auth.logout(ctx_of(session, admin_actor), token) == 0  # not the admin's token
    assert auth.logout(ctx_of(session, Actor(user_id=user.id)), token) == 1
    assert session.query(RefreshToken).filter(RefreshToken.revoked_at.is_(None)).count() == 0


def test_mfa_enrollment_then_login_needs_a_fresh_code(session, user, events, ctx_of):
    enrollment = mfa.enroll(user)
    totp = pyotp.TOTP(enrollment["secret"])
    assert enrollment["otpauth_uri"].startswith("otpauth://totp/")
    with pytest.raises(ServiceError) as wrong:
        mfa.verify_enrollment(user, "12345x")
    assert wrong.value.code == "validation_failed" and not user.mfa_enabled
    now = time.time()
    mfa.verify_enrollment(user, totp.at(now), now)
    assert user.mfa_enabled and user.mfa_pending_secret is None
    needs = auth.attempt_login(ctx_of(session), "ada@example.com", PASSWORD, None, None)
    assert needs.error.code == "unauthenticated" and needs.error.extra == {"mfa": "required"}
    replay = auth.attempt_login(ctx_of(session), "ada@example.com", PASSWORD, totp.at(now), None)
    assert replay.error is not None  # the code spent on enrollment does not work again
    assert auth.attempt_login(ctx_of(session), "ada@example.com", PASSWORD, totp.at(now + 30), None).error is None
    with pytest.raises(ServiceError) as again:
        mfa.enroll(user)  # already on
    assert again.value.code == "conflict"


def test_the_totp_seed_is_sealed_at_rest_and_bound_to_its_user(session, user, events, caplog, ctx_of):
    enrollment = mfa.enroll(user)
    assert enrollment["secret"] not in user.mfa_pending_secret and user.mfa_pending_secret.startswith("gcm1:")
    totp, now = pyotp.TOTP(enrollment["secret"]), time.time()
    mfa.verify_enrollment(user, totp.at(now), now)
    sealed = user.mfa_secret
    assert enrollment["secret"] not in sealed and mfa.reveal(user, sealed) == enrollment["secret"]
    other = User(id="someone-else", email="eve@example.com", full_name="Eve")
    assert mfa.reveal(other, sealed) is None  # a seed copied onto another account does not open
    middle = len(sealed) // 2
    tampered = sealed[:middle] + ("A" if sealed[middle] != "A" else "B") + sealed[middle + 1:]
    user.mfa_secret = tampered
    session.flush()
    refused = auth.attempt_login(ctx_of(session), "ada@example.com", PASSWORD, totp.at(now + 30), None)
    assert refused.error is not None and "does not open under the data key" in caplog.text
    assert enrollment["secret"] not in caplog.text
