"""Signing in: login (password, optional TOTP), refresh (rotation), logout.

A refused login still records the failure and its event, and a reused refresh token still revokes its
chain: `attempt_login` and `attempt_refresh` return an Outcome instead of raising, and `login`/`refresh`
(the RPCs) let the transaction commit before they raise the refusal (`ctx.after_commit`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm_common.context import Actor
from crm_common.db import new_id, utcnow
from crm_common.context import Context
from crm_common.errors import ServiceError
from crm_identity.domain import mfa, passwords, roles, territories, throttle, tokens
from crm_identity.domain.account import PEOPLE
from crm_identity.domain.users import by_email
from crm_identity.models import User
from crm_identity_contracts import LOGIN_FAILED, LOGIN_SUCCEEDED

UNAUTHENTICATED_DETAIL = "wrong email or password"


@dataclass
class Outcome:
    result: dict | None = None
    error: ServiceError | None = None


def _refuse(error: ServiceError):
    raise error


def settle(ctx: Context, outcome: Outcome) -> dict | None:
    """The result; a refusal is raised once what led to it (a recorded failure, a revoked chain) is committed."""
    if outcome.error is not None:
        ctx.after_commit(lambda: _refuse(outcome.error))
    return outcome.result


def login(ctx: Context, data: dict, client_ip: str | None = None) -> dict | None:
    return settle(ctx, attempt_login(ctx, data["email"], data["password"], data.get("otp"), client_ip))


def refresh(ctx: Context, data: dict, client_ip: str | None = None) -> dict | None:
    return settle(ctx, attempt_refresh(ctx, data["refresh_token"]))


def bad_credentials() -> ServiceError:
    return ServiceError("unauthenticated", UNAUTHENTICATED_DETAIL)


def access_token(session, user: User, chain_id: str, started_at: datetime, now: datetime) -> str:
    """An access token of the session `chain_id` begun at `started_at`, with the user's grants and
    territories now."""
    perms = roles.perms_for(session, user.roles or [])
    return tokens.sign(tokens.access_claims(user, perms, now, session_id=chain_id,
                                            territory_ids=territories.territory_ids(session, user),
                                            session_ends=tokens.session_ends(started_at)))


def pair(access: str, refresh_secret: str) -> dict:
    return {"access_token": access, "refresh_token": refresh_secret, "token_type": "Bearer",
            "expires_in": int(tokens.ACCESS_TTL.total_seconds())}


def issue_pair(session, user: User) -> dict:
    """The tokens of a new session (a login)."""
    now, chain_id = utcnow(), new_id()
    refresh_secret = tokens.issue_refresh(session, user.id, chain_id, now)
    return pair(access_token(session, user, chain_id, now, now), refresh_secret)


def _event(ctx: Context, type_: str, user: User | None, hashed: str, client_ip: str | None, reason: str) -> None:
    actor = Actor(user_id=user.id if user else None, kind=user.kind if user else "anonymous", client_ip=client_ip)
    ctx.emit(type_, {"user_id": user.id if user else None, "email_hash": hashed, "client_ip": client_ip,
                 "reason": reason}, actor=actor)


def attempt_login(ctx: Context, email: str, password: str, otp: str | None, client_ip: str | None) -> Outcome:
    session = ctx.session
    hashed = throttle.email_hash(email)
    try:
        throttle.check_account(session, hashed)
    except ServiceError as exc:
        _event(ctx, LOGIN_FAILED, None, hashed, client_ip, "rate_limited")
        return Outcome(error=exc)
    user = by_email(session, email)
    usable = user is not None and user.is_active and user.erased_at is None
    if usable:
        ok = passwords.verify(user.password_hash, password)
    else:
        ok = passwords.verify_dummy(password)  # the same time whether or not the email exists
    reason = None
    if not ok:
        reason = "bad_password" if usable else ("inactive" if user is not None else "unknown_email")
    elif user.mfa_enabled:
        reason = mfa.check_login_code(user, otp)
    if reason is not None:
        if reason != "otp_required":  # the first step of an MFA login (right password, no code yet) guesses nothing
            throttle.record(session, hashed, client_ip, succeeded=False)
        _event(ctx, LOGIN_FAILED, user if usable else None, hashed, client_ip, reason)
        if reason == "otp_required":
            return Outcome(error=ServiceError("unauthenticated", "a one-time code (otp) is required",
                                              extra={"mfa": "required"}))
        if reason == "otp_invalid":
            return Outcome(error=ServiceError("unauthenticated", "wrong one-time code", extra={"mfa": "invalid"}))
        return Outcome(error=throttle.address_held(session, client_ip) or bad_credentials())
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    throttle.record(session, hashed, client_ip, succeeded=True)
    _event(ctx, LOGIN_SUCCEEDED, user, hashed, client_ip, "password+otp" if user.mfa_enabled else "password")
    return Outcome(result=issue_pair(session, user))


def attempt_refresh(ctx: Context, secret: str) -> Outcome:
    session = ctx.session
    try:
        spent, new_secret = tokens.rotate(session, secret)
    except tokens.RefreshRefused:
        return Outcome(error=ServiceError("unauthenticated", "the refresh token is not valid"))
    user = session.get(User, spent.user_id)
    if user is None or not user.is_active or user.erased_at is not None:
        tokens.revoke_chain(session, spent.chain_id)
        return Outcome(error=ServiceError("unauthenticated", "the refresh token is not valid"))
    access = access_token(session, user, spent.chain_id, spent.session_started_at, utcnow())
    return Outcome(result=pair(access, new_secret))


def logout(ctx: Context, data: dict, session_id: str | None = None) -> int:
    """With a refresh token: end its session (if it is the caller's) and the session of the access token
    used (`session_id`); without one: end every session of the caller. Either way the access tokens of
    what ended stop working too (the gateway learns it from `tokens.cutoff`). How many sessions ended."""
    session, actor, secret = ctx.session, ctx.caller, data.get("refresh_token")
    if not actor.user_id or actor.kind not in PEOPLE:
        return 0
    if not secret:
        return tokens.revoke_user(session, actor.user_id)
    chains = set()
    record = tokens.find(session, secret)
    if record is not None and record.user_id == actor.user_id:
        chains.add(record.chain_id)
    if session_id and tokens.chain_of(session, session_id, actor.user_id):
        chains.add(session_id)
    return sum(tokens.revoke_chain(session, chain_id) for chain_id in sorted(chains))
