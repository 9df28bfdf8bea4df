"""Privacy requests (erasure, export): identity's own part, and every service's part as it answers."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

import crm_identity_contracts as c
from crm_common import idempotency
from crm_common.context import Actor
from crm_common.db import new_id, utcnow
from crm_common.context import Context
from crm_common.envelope import rfc3339
from crm_common.errors import ServiceError, not_found, validation
from crm_common.paging import paginate
from crm_identity.domain import admins, audit, mfa, passwords, tokens, users
from crm_identity.models import PrivacyRequest, User
from crm_identity_contracts import PRIVACY_KINDS, PRIVACY_SERVICES

SORTABLE = ("created_at",)


def to_dict(request: PrivacyRequest) -> dict:
    return {"id": request.id, "kind": request.kind, "email": request.email, "status": request.status,
            "parts": request.parts or {}, "created_at": request.created_at, "completed_at": request.completed_at}


def _require(actor: Actor, action: str) -> None:
    if actor.scope("privacy_request", action) != "all":
        raise ServiceError("forbidden", "privacy requests are for administrators")


def create(ctx: Context, data: dict, kind: str) -> dict:
    """A privacy request of `kind` (erasure or export) for `data["email"]`, announced to every service;
    identity does its own part at once. Erasure is for data subjects (leads, contacts, customers, portal
    users): one whose email is a staff account's is refused (409); staff are offboarded (`offboard`)."""
    if kind not in PRIVACY_KINDS:
        raise validation({"kind": [f"one of {', '.join(PRIVACY_KINDS)}"]})
    request = _new(ctx.session, ctx.caller, kind, data["email"])
    _start(ctx, request)
    return to_dict(request)


def _new(session: Session, actor: Actor, kind: str, email: str, staff_user_id: str | None = None) -> PrivacyRequest:
    _require(actor, "create")
    email = users.normalize_email(email)
    if kind == "erasure":
        staff = users.by_email(session, email)
        if staff is not None and staff.kind != "customer" and staff.id != staff_user_id:
            raise ServiceError(
                "conflict", f"{email} is a staff account (roles: {', '.join(staff.roles or []) or 'none'}); this "
                f"erasure would deactivate and anonymise it. Erasure requests are for data subjects; staff leave "
                f"through POST /api/v1/users/{staff.id}/offboard",
                extra={"staff_user": {"id": staff.id, "email": staff.email, "roles": list(staff.roles or []),
                                      "is_active": staff.is_active}})
    request = PrivacyRequest(id=new_id(), kind=kind, email=email, status="pending",
                             parts={s: {"status": "pending"} for s in PRIVACY_SERVICES}, requested_by=actor.user_id)
    session.add(request)
    session.flush()
    return request


def _start(ctx: Context, request: PrivacyRequest) -> list[User]:
    """Announce the request, do identity's part; returns the users an erasure anonymised."""
    ctx.emit(c.PRIVACY_REQUESTED, {"request_id": request.id, "kind": request.kind, "email": request.email})
    part, erased = own_part(ctx.session, request)
    if request.kind == "erasure" and ctx.uow is not None:  # answers kept with Idempotency-Keys naming them
        idempotency.forget(ctx.session, ctx.uow.metadata, request.email)
    for user in erased:
        users.emit_updated(ctx, user, ["email", "full_name", "is_active"])
    apply_part(ctx.session, part)
    ctx.emit(c.PRIVACY_PART_COMPLETED, part)
    return erased


def offboard(ctx: Context, user_id: str, data: dict) -> dict:
    """Offboard a staff member: an erasure request for their email that anonymises and deactivates their
    account (identity's part) and erases what the other services hold about that email. Never the caller,
    never the last active administrator, never an account stronger than the caller."""
    session, actor, confirm_email = ctx.session, ctx.caller, data["confirm_email"]
    _require(actor, "create")
    user = users.load(session, actor, user_id, "admin")
    if user.kind == "customer":
        raise ServiceError("conflict", "portal customers are erased with POST /api/v1/privacy/erasure-requests")
    admins.require_within(session, actor, user)
    admins.not_self(actor, user, "offboard", "another administrator can")
    if users.normalize_email(confirm_email) != user.email or user.erased_at is not None:
        raise validation({"confirm_email": ["is not the email of this account"]})
    admins.keep_an_admin(session, user, active_after=False)
    was_active = user.is_active
    request = _new(session, actor, "erasure", user.email, staff_user_id=user.id)
    for erased in _start(ctx, request):
        if was_active:
            ctx.emit(c.USER_DEACTIVATED, users.event_data(erased))
    return to_dict(request)


def get(ctx: Context, request_id: str) -> dict:
    _require(ctx.caller, "read")
    request = ctx.session.get(PrivacyRequest, request_id)
    if request is None:
        raise not_found("privacy request")
    return to_dict(request)


def list_requests(ctx: Context, args: dict) -> dict:
    session = ctx.session
    _require(ctx.caller, "read")
    query = select(PrivacyRequest)
    for field in ("kind", "status"):
        if args.get(field):
            query = query.where(getattr(PrivacyRequest, field) == args[field])
    if args.get("q"):
        query = query.where(PrivacyRequest.email == users.normalize_email(args["q"]))
    rows, cursor = paginate(session, query, PrivacyRequest, args.get("sort") or "-created_at", args["limit"],
                            args.get("cursor"), SORTABLE)
    return {"items": [to_dict(r) for r in rows], "next_cursor": cursor}


def own_part(session: Session, request: PrivacyRequest) -> tuple[dict, list[User]]:
    """Identity's part: (the part-completed data, users changed by an erasure)."""
    user = users.by_email(session, request.email)
    if request.kind == "export":
        data = {"users": []}
        if user is not None:
            data["users"].append({**_jsonable(users.to_dict(user)), "audit": [_jsonable(e) for e in
                                                                             audit.about_user(session, user.id)]})
        return {"request_id": request.id, "service": "identity", "status": "done", "data": data,
                "counts": {"users": len(data["users"])}}, []
    erased = []
    if user is not None:
        erase_user(session, user)
        erased.append(user)
    return {"request_id": request.id, "service": "identity", "status": "done", "data": None,
            "counts": {"users": len(erased)}}, erased


def erase_user(session: Session, user: User) -> None:
    """Anonymize a user or portal customer: no email, name, password, MFA or sessions are left."""
    now = utcnow()
    user.email = f"erased-{user.id}@erased.invalid"
    user.full_name = "Erased user"
    user.password_hash = passwords.hash_password(tokens.new_secret())  # nobody knows it
    user.is_active = False
    user.deactivated_at = user.deactivated_at or now
    user.erased_at = now
    mfa.clear(user)
    tokens.revoke_user(session, user.id, now)
    users.revoke_keys_of(session, user.id)
    session.flush()


def apply_part(session: Session, data: dict) -> PrivacyRequest | None:
    """Record one service's answer; the request completes when every service has answered."""
    # services answer at the same moment: lock the row so that no answer overwrites another's
    request = session.get(PrivacyRequest, data["request_id"], with_for_update=True)
    if request is None:
        return None
    parts = dict(request.parts or {})
    # the services the request waits for: those it named when it was made (a request made before a service
    # took part completes without it)
    waited = tuple(parts) or PRIVACY_SERVICES
    part = {"status": data["status"], "counts": data.get("counts") or {}, "completed_at": rfc3339(utcnow())}
    if data.get("data") is not None:
        part["data"] = data["data"]
    parts[data["service"]] = part
    request.parts = parts
    if all(parts.get(s, {}).get("status") in ("done", "failed") for s in waited):
        request.status = "failed" if any(parts[s]["status"] == "failed" for s in waited) else "completed"
        request.completed_at = utcnow()
    return request


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return rfc3339(value)
    return value
