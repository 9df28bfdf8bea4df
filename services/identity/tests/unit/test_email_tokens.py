"""Password reset by email and email verification (domain.email_tokens): single use, expiry, hashed at rest, the
same answer for an unknown address, throttling, sessions ended."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from crm_common.db import utcnow
from crm_common.errors import ServiceError
from crm_identity.domain import email_tokens, passwords
from crm_identity.models import EmailToken, RefreshToken, User

NEW = "An0ther-Str0ng-Pass!"


@pytest.fixture
def mailbox(monkeypatch):
    sent = []
    monkeypatch.setattr(email_tokens, "_send_later", lambda ctx, purpose, to, secret: sent.append((purpose, to, secret)))
    return sent


def test_a_reset_token_is_mailed_hashed_at_rest_and_works_once(session, user, events, ctx_of, mailbox):
    session.add(RefreshToken(user_id=user.id, token_hash="x" * 64, chain_id="c", expires_at=utcnow() + timedelta(days=1),
                             session_started_at=utcnow()))
    session.flush()
    answer = email_tokens.request_reset(ctx_of(session), {"email": " ADA@example.com "}, "10.0.0.1")
    [(purpose, to, secret)] = mailbox
    assert (purpose, to) == ("password_reset", "ada@example.com")
    stored = session.query(EmailToken).one()
    assert stored.token_hash != secret and secret not in str(events)
    email_tokens.confirm_reset(ctx_of(session), {"token": secret, "password": NEW})
    assert passwords.verify(session.get(User, user.id).password_hash, NEW)
    assert session.query(RefreshToken).one().revoked_at is not None
    assert events[-1][1]["changed_fields"] == ["password"]
    with pytest.raises(ServiceError) as again:
        email_tokens.confirm_reset(ctx_of(session), {"token": secret, "password": "Yet-An0ther-Pass!"})
    assert list(again.value.errors) == ["token"]
    unknown = email_tokens.request_reset(ctx_of(session), {"email": "nobody@example.com"}, "10.0.0.1")
    assert unknown == answer and len(mailbox) == 1


def test_a_token_expires_and_a_weak_password_is_refused(session, user, ctx_of, mailbox):
    email_tokens.request_reset(ctx_of(session), {"email": "ada@example.com"})
    secret = mailbox[-1][2]
    with pytest.raises(ServiceError) as weak:
        email_tokens.confirm_reset(ctx_of(session), {"token": secret, "password": "short"})
    assert list(weak.value.errors) == ["password"]
    with time_machine.travel(utcnow() + timedelta(hours=2)):
        with pytest.raises(ServiceError) as late:
            email_tokens.confirm_reset(ctx_of(session), {"token": secret, "password": NEW})
    assert list(late.value.errors) == ["token"]


def test_requests_are_throttled_per_address_and_per_client(session, user, ctx_of, mailbox, monkeypatch):
    for _ in range(5):
        email_tokens.request_reset(ctx_of(session), {"email": "ada@example.com"}, "10.0.0.2")
    assert len(mailbox) == 3  # the address gets at most three mails per window; the answer stays the same
    monkeypatch.setenv("CRM_PASSWORD_RESET_CLIENT_LIMIT", "6")
    email_tokens.request_reset(ctx_of(session), {"email": "someone@example.com"}, "10.0.0.2")
    with pytest.raises(ServiceError) as held:
        email_tokens.request_reset(ctx_of(session), {"email": "other@example.com"}, "10.0.0.2")
    assert held.value.code == "rate_limited"


def test_a_new_user_verifies_the_address(session, ctx_of, admin_actor, mailbox):
    def create(ctx, data):
        made = User(email=data["email"], full_name="Bo", password_hash="h", roles=[], territory_ids=[])
        ctx.session.add(made)
        ctx.session.flush()
        return {"id": made.id}
    made = email_tokens.verifying(create)(ctx_of(session, admin_actor), {"email": "bo@example.com"})
    [(purpose, to, secret)] = mailbox
    assert (purpose, to) == ("verify_email", "bo@example.com")
    with pytest.raises(ServiceError):
        email_tokens.confirm_reset(ctx_of(session), {"token": secret, "password": NEW})  # not a reset token
    email_tokens.verify(ctx_of(session), {"token": secret})
    assert session.get(User, made["id"]).email_verified_at is not None
