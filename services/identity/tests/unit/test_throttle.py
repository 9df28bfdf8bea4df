from datetime import timedelta

import pytest

from crm_common.db import utcnow
from crm_common.errors import ServiceError
from crm_identity.domain import auth, throttle

PASSWORD = "Str0ng-Passw0rd-42!"  # the `user` fixture's (conftest.py)

ACCOUNT = throttle.email_hash("Ada@Example.com")


def test_email_hash_ignores_case_and_spaces():
    assert ACCOUNT == throttle.email_hash(" ada@example.com ")


def test_five_failures_hold_the_account_with_retry_after(session):
    now = utcnow()
    for i in range(4):
        throttle.record(session, ACCOUNT, "10.0.0.1", False, now - timedelta(minutes=10 - i))
    throttle.check_account(session, ACCOUNT, now)  # four: still allowed
    throttle.record(session, ACCOUNT, "10.0.0.1", False, now)
    with pytest.raises(ServiceError) as held:
        throttle.check_account(session, ACCOUNT, now)
    assert held.value.code == "rate_limited"
    assert 0 < held.value.extra["retry_after"] <= 5 * 60  # the oldest failure leaves the window in 5 min
    throttle.check_account(session, ACCOUNT, now + timedelta(minutes=16))  # the window has passed


def test_a_success_resets_the_account_count(session):
    now = utcnow()
    for i in range(4):
        throttle.record(session, ACCOUNT, "10.0.0.1", False, now - timedelta(minutes=5))
    throttle.record(session, ACCOUNT, "10.0.0.1", True, now - timedelta(minutes=4))
    throttle.record(session, ACCOUNT, "10.0.0.1", False, now)
    throttle.check_account(session, ACCOUNT, now)


def test_twenty_failures_from_one_address_make_its_next_failure_a_429(session):
    now = utcnow()
    for i in range(20):
        throttle.record(session, throttle.email_hash(f"user{i}@example.com"), "10.9.9.9", False, now)
    assert throttle.address_held(session, "10.9.9.9", now) is None  # twenty: at the limit
    throttle.record(session, throttle.email_hash("someone-new@example.com"), "10.9.9.9", False, now)
    held = throttle.address_held(session, "10.9.9.9", now)
    assert held.code == "rate_limited" and 0 < held.extra["retry_after"] <= 15 * 60
    assert throttle.address_held(session, "10.1.1.1", now) is None
    assert throttle.address_held(session, "10.9.9.9", now + timedelta(minutes=16)) is None


def test_a_busy_shared_address_never_locks_out_a_correct_login(session, user, events, ctx_of):
    """Behind a proxy everyone shares one address: someone else's failures there must not keep Ada out."""
    for i in range(25):
        outcome = auth.attempt_login(ctx_of(session), f"guess{i}@example.com", "Wrong-Passw0rd-1", None, "10.0.0.9")
    assert outcome.error.code == "rate_limited"  # the noisy address's own wrong guesses: 429
    assert auth.attempt_login(ctx_of(session), "ada@example.com", PASSWORD, None, "10.0.0.9").error is None
    wrong = auth.attempt_login(ctx_of(session), "ada@example.com", "Wrong-Passw0rd-1", None, "10.0.0.9")
    assert wrong.error.code == "rate_limited"  # a wrong password from there is still a 429, not a 401


def test_the_account_back_off_holds_the_right_password_from_any_address(session, user, events, ctx_of):
    for _ in range(5):
        assert auth.attempt_login(ctx_of(session), "ada@example.com", "Wrong-Passw0rd-1", None, "10.0.0.1").error.code \
            == "unauthenticated"
    held = auth.attempt_login(ctx_of(session), "ada@example.com", PASSWORD, None, "10.0.0.2")
    assert held.error.code == "rate_limited" and held.error.extra["retry_after"] > 0
    assert auth.attempt_login(ctx_of(session), "someone@example.com", "Wrong-Passw0rd-1", None, "10.0.0.1").error.code \
        == "unauthenticated"  # another account from the same address is not held


def test_clearing_an_account_lets_it_sign_in_again(session, user, events, ctx_of):
    for _ in range(5):
        auth.attempt_login(ctx_of(session), "ada@example.com", "Wrong-Passw0rd-1", None, "10.0.0.1")
    assert throttle.clear_account(session, throttle.email_hash("ada@example.com")) == 5
    assert auth.attempt_login(ctx_of(session), "ada@example.com", PASSWORD, None, "10.0.0.1").error is None
