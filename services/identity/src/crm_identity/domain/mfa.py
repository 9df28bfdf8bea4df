"""Optional TOTP second factor (RFC 6238, pyotp): enroll, verify to enable, then needed at login.

The seed is shown once at enrollment and kept sealed under the data key (crm_common.secretbox), bound to
the user's id: the database alone never reveals it."""
from __future__ import annotations

import logging
import time

import pyotp

from crm_common import secretbox
from crm_common.errors import ServiceError, validation
from crm_identity import keys
from crm_identity.domain import passwords
from crm_identity.models import User

log = logging.getLogger(__name__)
ISSUER = "CRM suite"
STEP = 30


def enroll(user: User) -> dict:
    if user.mfa_enabled:
        raise ServiceError("conflict", "two-factor authentication is already on")
    secret = pyotp.random_base32()
    user.mfa_pending_secret = seal(user, secret)
    uri = pyotp.TOTP(secret, interval=STEP).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return {"secret": secret, "otpauth_uri": uri}


def seal(user: User, secret: str) -> str:
    return keys.data_box().seal(secret, _context(user))


def reveal(user: User, sealed: str | None) -> str | None:
    """The seed in clear; None (no code matches) when it does not open: a value moved from another user,
    tampered with, or sealed under another data key; logged, since nobody with it can pass MFA."""
    if not sealed:
        return None
    try:
        return keys.data_box().open(sealed, _context(user))
    except secretbox.SealedValueError:
        log.error("the TOTP seed of user %s does not open under the data key (%s)", user.id, keys.data_key_path())
        return None


def _context(user: User) -> str:
    if not user.id:
        raise ValueError("a user gets an id before a second factor")
    return f"totp:{user.id}"


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step `code` belongs to (this one or a neighbour), or None."""
    if not secret or not code or not code.strip().isdigit():
        return None
    now = time.time() if now is None else now
    totp = pyotp.TOTP(secret, interval=STEP)
    current = int(now // STEP)
    for step in (current, current - 1, current + 1):
        if pyotp.utils.strings_equal(totp.at(step * STEP), code.strip()):
            return step
    return None


def verify_enrollment(user: User, code: str, now: float | None = None) -> None:
    if user.mfa_enabled:
        raise ServiceError("conflict", "two-factor authentication is already on")
    if not user.mfa_pending_secret:
        raise ServiceError("conflict", "enroll first (POST /api/v1/auth/mfa/enroll)")
    step = matching_step(reveal(user, user.mfa_pending_secret), code, now)
    if step is None:
        raise validation({"otp": ["is not the current code of the enrolled authenticator"]})
    user.mfa_secret, user.mfa_pending_secret = user.mfa_pending_secret, None
    user.mfa_enabled = True
    user.mfa_last_step = step


def disable(user: User, password: str, code: str, now: float | None = None) -> None:
    """The user turns their own second factor off: their password and a fresh code, not a stolen session."""
    if not user.mfa_enabled:
        raise ServiceError("conflict", "two-factor authentication is off")
    if not passwords.verify(user.password_hash, password):
        raise validation({"password": ["is not your current password"]})
    if check_login_code(user, code, now) is not None:
        raise validation({"otp": ["is not the current code of your authenticator"]})
    clear(user)


def clear(user: User) -> bool:
    """Forget the second factor (disable, an administrator's reset, erasure); whether there was one."""
    had = bool(user.mfa_enabled or user.mfa_secret or user.mfa_pending_secret)
    user.mfa_enabled, user.mfa_secret, user.mfa_pending_secret, user.mfa_last_step = False, None, None, None
    return had


def check_login_code(user: User, code: str | None, now: float | None = None) -> str | None:
    """None when the code is good (and not used before); else why not ("otp_required" / "otp_invalid")."""
    if not code:
        return "otp_required"
    step = matching_step(reveal(user, user.mfa_secret), code, now)
    if step is None or (user.mfa_last_step is not None and step <= user.mfa_last_step):
        return "otp_invalid"
    user.mfa_last_step = step
    return None
