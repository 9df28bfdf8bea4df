"""Access tokens (JWT, EdDSA) and refresh tokens (opaque, hashed, single use, rotated in chains)."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

import jwt
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm_common import config
from crm_common.db import new_id, utcnow
from crm_identity import keys
from crm_identity.models import RefreshToken, User

ISSUER = "crm-identity"
AUDIENCE = "crm-api"
ALGORITHM = "EdDSA"
ACCESS_TTL = timedelta(minutes=15)


def refresh_ttl() -> timedelta:
    return timedelta(seconds=config.env_int("CRM_REFRESH_TTL_SECONDS", 14 * 24 * 3600))


class _KeyCache:
    """The private key, read once per process (again when the file changes)."""

    def __init__(self):
        self._key = None
        self._stamp = None

    def get(self):
        path = keys.private_key_path()
        stamp = (str(path), path.stat().st_mtime)
        if self._key is None or stamp != self._stamp:
            self._key = keys.load_private_key(path)
            self._stamp = stamp
        return self._key


_keys = _KeyCache()


def access_claims(user: User, perms: dict, now: datetime | None = None) -> dict:
    now = now or utcnow()
    iat = int(now.timestamp())
    claims = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": user.id, "iat": iat,
        "exp": iat + int(ACCESS_TTL.total_seconds()), "jti": str(uuid.uuid4()), "typ": "access",
        "kind": user.kind, "email": user.email, "roles": list(user.roles or []), "team_id": user.team_id,
        "territory_ids": list(user.territory_ids or []), "perms": perms,
    }
    if user.kind == "customer":
        claims["account_id"] = user.account_id
        claims["contact_id"] = user.contact_id
    return claims


def sign(claims: dict, private_key=None) -> str:
    return jwt.encode(claims, private_key or _keys.get(), algorithm=ALGORITHM, headers={"typ": "JWT"})


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def issue_refresh(session: Session, user_id: str, chain_id: str | None = None, now: datetime | None = None) -> str:
    """A new refresh token (returned once; only its hash is kept) in `chain_id` or a new chain."""
    now = now or utcnow()
    secret = new_secret()
    session.add(RefreshToken(id=new_id(), token_hash=digest(secret), chain_id=chain_id or new_id(), user_id=user_id,
                             issued_at=now, expires_at=now + refresh_ttl()))
    return secret


class RefreshRefused(Exception):
    """The refresh token cannot be used; `reason` says why (spent ones revoke their chain first)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def rotate(session: Session, secret: str, now: datetime | None = None) -> tuple[RefreshToken, str]:
    """Spend `secret` and issue its successor in the same chain: (the spent record, the new secret).

    A token presented again after it was spent revokes every token of its chain (someone else holds a
    copy); the caller must commit before reporting the refusal.
    """
    now = now or utcnow()
    record = session.execute(select(RefreshToken).where(RefreshToken.token_hash == digest(secret))).scalar_one_or_none()
    if record is None:
        raise RefreshRefused("unknown")
    if record.revoked_at is not None:
        raise RefreshRefused("revoked")
    if record.used_at is not None:
        revoke_chain(session, record.chain_id, now)
        raise RefreshRefused("reused")
    if record.expires_at <= now:
        raise RefreshRefused("expired")
    # single use even under concurrency: only one UPDATE can flip used_at from NULL
    spent = session.execute(update(RefreshToken).where(RefreshToken.id == record.id, RefreshToken.used_at.is_(None))
                            .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    if spent != 1:
        revoke_chain(session, record.chain_id, now)
        raise RefreshRefused("reused")
    return record, issue_refresh(session, record.user_id, record.chain_id, now)


def find(session: Session, secret: str) -> RefreshToken | None:
    return session.execute(select(RefreshToken).where(RefreshToken.token_hash == digest(secret))).scalar_one_or_none()


def revoke_chain(session: Session, chain_id: str, now: datetime | None = None) -> int:
    return session.execute(update(RefreshToken).where(RefreshToken.chain_id == chain_id,
                                                      RefreshToken.revoked_at.is_(None))
                           .values(revoked_at=now or utcnow()).execution_options(synchronize_session=False)).rowcount


def revoke_user(session: Session, user_id: str, now: datetime | None = None) -> int:
    """Every refresh chain of the user, and every access token already issued to them (logout,
    password change, deactivation, role change, erasure): the gateway refuses tokens issued before."""
    now = now or utcnow()
    session.execute(update(User).where(User.id == user_id).values(tokens_valid_after=now)
                    .execution_options(synchronize_session=False))
    return session.execute(update(RefreshToken).where(RefreshToken.user_id == user_id,
                                                      RefreshToken.revoked_at.is_(None))
                           .values(revoked_at=now).execution_options(synchronize_session=False)).rowcount


def cutoff(user: User | None) -> dict:
    """What the gateway needs to refuse a revoked access token: whether the user may still act, and
    the second before which their tokens are void (token `iat` is in whole seconds)."""
    if user is None:
        return {"active": False, "valid_after": None}
    after = int(user.tokens_valid_after.timestamp()) if user.tokens_valid_after else None
    return {"active": bool(user.is_active and user.erased_at is None), "valid_after": after}
