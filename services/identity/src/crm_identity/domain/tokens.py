"""Access tokens (JWT, EdDSA) and refresh tokens (opaque, hashed, single use, rotated in chains)."""
from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from datetime import datetime, timedelta, timezone

import jwt
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm_common import config
from crm_common.db import new_id, utcnow
from crm_identity import keys
from crm_identity.domain import territories
from crm_identity.models import RefreshToken, User

ISSUER = "crm-identity"
AUDIENCE = "crm-api"
ALGORITHM = "EdDSA"
ACCESS_TTL = timedelta(minutes=15)


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def refresh_ttl() -> timedelta:
    return timedelta(seconds=config.env_int("CRM_REFRESH_TTL_SECONDS", 14 * 24 * 3600))


def session_max_age() -> timedelta:
    """How long a session lasts at most from its login, however often it is refreshed."""
    return timedelta(seconds=config.env_int("CRM_SESSION_MAX_AGE", 30 * 24 * 3600))


def micros(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (no float rounding)."""
    return (moment - EPOCH) // timedelta(microseconds=1)


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


def access_claims(user: User, perms: dict, now: datetime | None = None, session_id: str | None = None,
                  territory_ids: list[str] | None = None, session_ends: datetime | None = None) -> dict:
    """The claims of an access token. `iat_us` is the issue time in microseconds (the revocation
    cutoff is compared with it); `sid` names the session (refresh chain) it belongs to, so that ending
    that session voids it; `exp` never passes `session_ends`."""
    now = now or utcnow()
    iat = int(now.timestamp())
    exp = iat + int(ACCESS_TTL.total_seconds())
    if session_ends is not None:
        exp = max(iat, min(exp, int(session_ends.timestamp())))
    claims = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": user.id, "iat": iat, "iat_us": micros(now),
        "exp": exp, "jti": str(uuid.uuid4()), "typ": "access",
        "kind": user.kind, "email": user.email, "roles": list(user.roles or []), "team_id": user.team_id,
        "territory_ids": list(user.territory_ids or []) if territory_ids is None else list(territory_ids),
        "perms": perms,
    }
    if session_id:
        claims["sid"] = session_id
    if user.kind == "customer":
        claims["account_id"] = user.account_id
        claims["contact_id"] = user.contact_id
    if user.partner_id and "partner" in (user.roles or []):
        claims["partner_id"] = user.partner_id
    return claims


def sign(claims: dict, private_key=None) -> str:
    return jwt.encode(claims, private_key or _keys.get(), algorithm=ALGORITHM, headers={"typ": "JWT"})


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def session_ends(started_at: datetime) -> datetime:
    return started_at + session_max_age()


def issue_refresh(session: Session, user_id: str, chain_id: str | None = None, now: datetime | None = None,
                  started_at: datetime | None = None) -> str:
    """A new refresh token (returned once; only its hash is kept) in `chain_id` or a new chain.

    `started_at` is the login that began the chain (now, for a new one): the token expires after
    CRM_REFRESH_TTL_SECONDS, but never after the session's absolute end (CRM_SESSION_MAX_AGE from it)."""
    now = now or utcnow()
    started_at = started_at or now
    secret = new_secret()
    session.add(RefreshToken(id=new_id(), token_hash=digest(secret), chain_id=chain_id or new_id(), user_id=user_id,
                             issued_at=now, expires_at=min(now + refresh_ttl(), session_ends(started_at)),
                             session_started_at=started_at))
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
    if session_ends(record.session_started_at) <= now:  # also when CRM_SESSION_MAX_AGE was lowered since
        raise RefreshRefused("session_ended")
    # single use even under concurrency: only one UPDATE can flip used_at from NULL
    spent = session.execute(update(RefreshToken).where(RefreshToken.id == record.id, RefreshToken.used_at.is_(None))
                            .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    if spent != 1:
        revoke_chain(session, record.chain_id, now)
        raise RefreshRefused("reused")
    return record, issue_refresh(session, record.user_id, record.chain_id, now, record.session_started_at)


def find(session: Session, secret: str) -> RefreshToken | None:
    return session.execute(select(RefreshToken).where(RefreshToken.token_hash == digest(secret))).scalar_one_or_none()


def chain_of(session: Session, chain_id: str, user_id: str) -> bool:
    """Whether `chain_id` is a session of `user_id`."""
    return session.execute(select(RefreshToken.id).where(RefreshToken.chain_id == chain_id,
                                                         RefreshToken.user_id == user_id).limit(1)).first() is not None


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


def cutoff_of(ctx, user_id) -> dict:
    """For the gateway (`token_cutoff`): `cutoff` of the user `user_id`."""
    return cutoff(ctx.session, ctx.session.get(User, str(user_id)))


def cutoff(session: Session, user: User | None, now: datetime | None = None) -> dict:
    """What the gateway needs to judge an access token of `user` on every request:

    - `active`: whether the user may still act;
    - `valid_after_us`: tokens issued (`iat_us`) at or before this microsecond are void (logout
      everywhere, password or role change...); `valid_after` is the same cutoff in whole seconds,
      rounded up, for tokens without `iat_us`;
    - `ended_sessions`: sessions (refresh chains) ended one by one (a logout, a reused refresh token)
      recently enough that access tokens of theirs may still be unexpired (their `sid`);
    - `team_id`, `territory_ids`: the user's membership now, which the gateway puts in place of the
      token's, so that a team or territory change applies at once.
    """
    if user is None:
        return {"active": False, "valid_after": None, "valid_after_us": None, "ended_sessions": []}
    now = now or utcnow()
    after = user.tokens_valid_after
    query = select(RefreshToken.chain_id).where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_not(None),
                                                RefreshToken.revoked_at > now - ACCESS_TTL)
    if after is not None:  # those ended together with everything else are covered by the cutoff
        query = query.where(RefreshToken.revoked_at > after)
    ended = sorted(set(session.execute(query).scalars()))
    return {"active": bool(user.is_active and user.erased_at is None),
            "valid_after": math.ceil(after.timestamp()) if after else None,
            "valid_after_us": micros(after) if after else None,
            "ended_sessions": ended, "team_id": user.team_id,
            "territory_ids": territories.territory_ids(session, user)}
