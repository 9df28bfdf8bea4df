"""Login throttling kept in the database (every replica sees it): failures per account and per address.

- An account (by the hash of its lower-cased email, known or not) is held after ACCOUNT_LIMIT failures
  within WINDOW since its last success, even for the right password, until the oldest of them leaves the
  window: a per-account back-off. Attempts on one account are counted one at a time (a transaction lock
  per account: an advisory lock on PostgreSQL, SQLite's single writer), so parallel attempts cannot
  slip past the limit.
- A client address is never held before its password is checked: behind a proxy or NAT many people share
  one address, and a noisy neighbour must not lock out their correct logins. A wrong password from an
  address with more than ADDRESS_LIMIT failures within WINDOW is answered 429 instead of 401.
"""
from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from crm_common import config
from crm_common.db import serialize_on, utcnow
from crm_common.errors import ServiceError
from crm_identity.models import LoginAttempt


def window() -> timedelta:
    return timedelta(seconds=config.env_int("CRM_LOGIN_WINDOW_SECONDS", 900))


def account_limit() -> int:
    return config.env_int("CRM_LOGIN_ACCOUNT_LIMIT", 5)


def address_limit() -> int:
    return config.env_int("CRM_LOGIN_ADDRESS_LIMIT", 20)


def email_hash(email: str) -> str:
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()


def _retry_after(oldest: datetime, now: datetime) -> int:
    return max(1, math.ceil((oldest + window() - now).total_seconds()))


def _lock_account(session: Session, hashed_email: str) -> None:
    """Hold the account's attempts in line until this transaction ends (PostgreSQL; SQLite writers queue)."""
    serialize_on(session, f"login:{hashed_email}")


def check_account(session: Session, hashed_email: str, now: datetime | None = None) -> None:
    """Raise rate_limited (with retry_after seconds) when the account is held. Takes the account's lock
    first: the attempt is recorded (`record`) in the same transaction before the next one is counted."""
    _lock_account(session, hashed_email)
    now = now or utcnow()
    since = now - window()
    last_success = session.execute(select(func.max(LoginAttempt.at)).where(
        LoginAttempt.email_hash == hashed_email, LoginAttempt.succeeded.is_(True), LoginAttempt.at > since)).scalar()
    account_since = max(since, last_success) if last_success else since
    count, oldest = session.execute(select(func.count(), func.min(LoginAttempt.at)).where(
        LoginAttempt.email_hash == hashed_email, LoginAttempt.succeeded.is_(False),
        LoginAttempt.at > account_since)).one()
    if count >= account_limit():
        raise ServiceError("rate_limited", "too many failed logins for this account; try again later",
                           extra={"retry_after": _retry_after(oldest, now)})


def address_held(session: Session, client_ip: str | None, now: datetime | None = None) -> ServiceError | None:
    """The 429 for a failed login from an address past its limit (its failures recorded), else None."""
    if not client_ip:
        return None
    now = now or utcnow()
    count, oldest = session.execute(select(func.count(), func.min(LoginAttempt.at)).where(
        LoginAttempt.client_ip == client_ip, LoginAttempt.succeeded.is_(False), LoginAttempt.at > now - window())).one()
    if count > address_limit():
        return ServiceError("rate_limited", "too many failed logins from this address; try again later",
                            extra={"retry_after": _retry_after(oldest, now)})
    return None


def clear_account(session: Session, hashed_email: str) -> int:
    """Forget an account's failures (administrator recovery); how many there were."""
    return session.execute(delete(LoginAttempt).where(LoginAttempt.email_hash == hashed_email,
                                                      LoginAttempt.succeeded.is_(False))).rowcount or 0


def record(session: Session, hashed_email: str, client_ip: str | None, succeeded: bool,
           now: datetime | None = None) -> None:
    now = now or utcnow()
    session.add(LoginAttempt(email_hash=hashed_email, client_ip=client_ip, succeeded=succeeded, at=now))
    if not succeeded:  # keep the table small: nothing older than a day matters
        session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - timedelta(days=1)))
