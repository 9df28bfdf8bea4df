"""Password reset by email and email verification: single-use tokens that expire, kept only as their hash.

- A reset request answers the same (nothing, a 202) whether or not the address is a user's; the mail goes out
  after commit on a thread of its own, so the answer takes as long either way. At most RESETS_PER_ADDRESS
  mails per address per window (later requests are answered alike and mail nothing); a client address
  asking more than REQUESTS_PER_CLIENT times in the window is refused with a 429 (which says nothing
  about any address).
- A reset token sets a new password (the password policy applies), is used once, and ends every session.
- A new user gets a verification mail; its token sets `email_verified_at`.
Mail goes through crm_common.mail (the local catcher by default). Tokens never reach a log, an event or a URL's
path or query (the mail's link carries it after `#`).
"""
from __future__ import annotations

import logging
import threading
from datetime import timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from crm_common import config, mail
from crm_common.db import utcnow
from crm_common.errors import ServiceError, validation
from crm_identity.domain import passwords, tokens, users
from crm_identity.domain.throttle import email_hash
from crm_identity.models import EmailToken, User

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

log = logging.getLogger(__name__)
RESET, VERIFY = "password_reset", "verify_email"
ACCEPTED = {"detail": "if the address is a user's, a mail with a reset token is on its way"}


def _ttl(purpose: str) -> timedelta:
    if purpose == RESET:
        return timedelta(seconds=config.env_int("CRM_PASSWORD_RESET_TTL_SECONDS", 3600))
    return timedelta(seconds=config.env_int("CRM_VERIFY_EMAIL_TTL_SECONDS", 7 * 24 * 3600))


def _window() -> timedelta:
    return timedelta(seconds=config.env_int("CRM_PASSWORD_RESET_WINDOW_SECONDS", 900))


def _sender() -> str:
    return config.env("CRM_MAIL_FROM") or "no-reply@crm.local"


def _console() -> str:
    return (config.env("CRM_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/")


def _message(purpose: str, to: str, secret: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = _sender(), to
    if purpose == RESET:
        message["Subject"] = "Reset your CRM password"
        body = ("Someone (we hope you) asked to reset the password of your CRM account.\n\n"
                f"Your reset token: {secret}\n\nOr open {_console()}/reset-password#token={secret}\n\n"
                f"It works once, within {int(_ttl(RESET).total_seconds() // 60)} minutes. If you did not ask, "
                "ignore this mail: your password stays as it is.\n")
    else:
        message["Subject"] = "Confirm your CRM email address"
        body = (f"Confirm the address of your new CRM account.\n\nYour verification token: {secret}\n\n"
                f"Or open {_console()}/verify-email#token={secret}\n")
    message.set_content(body)
    return message


def _send_later(ctx: Context, purpose: str, to: str, secret: str) -> None:
    """After commit, on a thread of its own (a green one under nameko): the caller's answer does not wait."""
    def send():
        try:
            with mail.Connection() as connection:
                connection.send(_message(purpose, to, secret), _sender(), to)
        except Exception as exc:  # the token stays valid; the person may ask again
            log.warning("the %s mail was not sent (%s)", purpose, type(exc).__name__)
    ctx.after_commit(lambda: threading.Thread(target=send, name=f"mail-{purpose}", daemon=True).start())


def _issue(ctx: Context, purpose: str, user: User, client_ip: str | None) -> None:
    secret = tokens.new_secret()
    now = utcnow()
    ctx.session.add(EmailToken(purpose=purpose, user_id=user.id, email_hash=email_hash(user.email),
                               token_hash=tokens.digest(secret), client_ip=client_ip, created_at=now,
                               expires_at=now + _ttl(purpose)))
    _send_later(ctx, purpose, user.email, secret)


def request_reset(ctx: Context, data: dict, client_ip: str | None = None) -> dict:
    """Mail a reset token if the address is an active user's; the same answer either way (throttled)."""
    session, now = ctx.session, utcnow()
    since = now - _window()
    hashed = email_hash(data["email"])
    if client_ip:
        asked = session.execute(select(func.count()).select_from(EmailToken).where(
            EmailToken.purpose == RESET, EmailToken.client_ip == client_ip, EmailToken.created_at > since)).scalar()
        if asked >= config.env_int("CRM_PASSWORD_RESET_CLIENT_LIMIT", 20):
            raise ServiceError("rate_limited", "too many password reset requests; try again later",
                               extra={"retry_after": int(_window().total_seconds())})
    mailed = session.execute(select(func.count()).select_from(EmailToken).where(
        EmailToken.purpose == RESET, EmailToken.email_hash == hashed, EmailToken.token_hash.is_not(None),
        EmailToken.created_at > since)).scalar()
    user = users.by_email(session, data["email"].strip().lower())
    if user is None or not user.is_active or user.erased_at is not None or \
            mailed >= config.env_int("CRM_PASSWORD_RESET_ADDRESS_LIMIT", 3):
        session.add(EmailToken(purpose=RESET, email_hash=hashed, client_ip=client_ip, created_at=now, expires_at=now))
        return ACCEPTED
    _issue(ctx, RESET, user, client_ip)
    return ACCEPTED


def _redeem(ctx: Context, purpose: str, secret: str) -> User:
    row = ctx.session.execute(select(EmailToken).where(EmailToken.token_hash == tokens.digest(secret),
                                                       EmailToken.purpose == purpose)).scalars().first()
    now = utcnow()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise validation({"token": ["not a valid token (unknown, used or expired)"]})
    user = ctx.session.get(User, row.user_id)
    if user is None or not user.is_active or user.erased_at is not None:
        raise validation({"token": ["not a valid token (unknown, used or expired)"]})
    row.used_at = now
    return user


def confirm_reset(ctx: Context, data: dict) -> None:
    """A new password with a mailed token; the token is spent and every session of the user ends."""
    user = _redeem(ctx, RESET, data["token"])
    policy = passwords.policy_errors(data["password"], user.email)
    if policy:
        raise validation({"password": policy})
    user.password_hash = passwords.hash_password(data["password"])
    user.password_changed_at = utcnow()
    tokens.revoke_user(ctx.session, user.id)
    for other in ctx.session.execute(select(EmailToken).where(EmailToken.user_id == user.id,
                                                              EmailToken.purpose == RESET,
                                                              EmailToken.used_at.is_(None))).scalars():
        other.used_at = user.password_changed_at  # the other tokens of the same person stop working too
    ctx.session.flush()
    users.emit_updated(ctx, user, ["password"])


def verify(ctx: Context, data: dict) -> None:
    user = _redeem(ctx, VERIFY, data["token"])
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        ctx.session.flush()
        users.emit_updated(ctx, user, ["email_verified_at"])


def verifying(create):
    """A user-creating function that also mails the new user a verification token."""
    def created(ctx: Context, data: dict, *args, **kwargs) -> dict:
        result = create(ctx, data, *args, **kwargs)
        user = ctx.session.get(User, result["id"])
        if user is not None:
            _issue(ctx, VERIFY, user, None)
        return result
    created.__doc__ = create.__doc__
    return created
