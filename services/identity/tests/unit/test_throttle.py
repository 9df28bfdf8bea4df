from datetime import timedelta

import pytest

from crm_common.db import utcnow
from crm_common.errors import ServiceError
from crm_identity.domain import throttle

ACCOUNT = throttle.email_hash("Ada@Example.com")


def test_email_hash_ignores_case_and_spaces():
    assert ACCOUNT == throttle.email_hash(" ada@example.com ")


def test_five_failures_hold_the_account_with_retry_after(session):
    now = utcnow()
    for i in range(4):
        throttle.record(session, ACCOUNT, "10.0.0.1", False, now - timedelta(minutes=10 - i))
    throttle.check(session, ACCOUNT, "10.0.0.1", now)  # four: still allowed
    throttle.record(session, ACCOUNT, "10.0.0.1", False, now)
    with pytest.raises(ServiceError) as held:
        throttle.check(session, ACCOUNT, "10.0.0.2", now)
    assert held.value.code == "rate_limited"
    assert 0 < held.value.extra["retry_after"] <= 5 * 60  # the oldest failure leaves the window in 5 min
    throttle.check(session, ACCOUNT, "10.0.0.2", now + timedelta(minutes=16))  # the window has passed


def test_a_success_resets_the_account_count(session):
    now = utcnow()
    for i in range(4):
        throttle.record(session, ACCOUNT, "10.0.0.1", False, now - timedelta(minutes=5))
    throttle.record(session, ACCOUNT, "10.0.0.1", True, now - timedelta(minutes=4))
    throttle.record(session, ACCOUNT, "10.0.0.1", False, now)
    throttle.check(session, ACCOUNT, "10.0.0.1", now)


def test_twenty_failures_from_one_address_hold_the_address_for_every_account(session):
    now = utcnow()
    for i in range(20):
        throttle.record(session, throttle.email_hash(f"user{i}@example.com"), "10.9.9.9", False, now)
    with pytest.raises(ServiceError) as held:
        throttle.check(session, throttle.email_hash("someone-new@example.com"), "10.9.9.9", now)
    assert held.value.code == "rate_limited"
    throttle.check(session, throttle.email_hash("someone-new@example.com"), "10.1.1.1", now)
