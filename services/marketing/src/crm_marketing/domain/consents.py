"""Consents: the current consent of an address on a channel (email, sms, phone) with its proof (source, time,
IP address, consent text version); every change emits `marketing.consent_changed.v1`, the history.

One record per address (by its SHA-256 hash) and channel: posting again changes that record. The permission
resource is `consent`; record scope "own" means the consents one recorded.

Who may be mailed (`mailable`, asked by sending at send time): an address is mailable when it is not on the
suppression list and its email consent allows it. By default (`CRM_MARKETING_REQUIRE_OPT_IN` unset or false)
an address with no email consent may be mailed, and one whose email consent is opted_out or pending (a double
opt-in not yet confirmed) may not. With `CRM_MARKETING_REQUIRE_OPT_IN=true` (what a company mailing EU people
without another legal basis sets) only an opted_in address may be mailed.
"""
from __future__ import annotations

from sqlalchemy import and_, exists, select
from sqlalchemy.exc import IntegrityError

import crm_marketing_contracts as c
from crm_common import config, paging, scope
from crm_common.db import utcnow
from crm_common.envelope import rfc3339
from crm_common.errors import not_found
from crm_common.unit_of_work import is_unique_violation
from crm_common.versioning import check_version
from crm_marketing.domain.suppressions import email_hash
from crm_marketing.models import Consent, Suppression

RESOURCE, WHAT = "consent", "consent"
PROOF = ("status", "source", "captured_at", "ip", "text_version", "contact_id", "lead_id")
BLOCKING = ("opted_out", "pending")


def require_opt_in() -> bool:
    return (config.env("CRM_MARKETING_REQUIRE_OPT_IN", "false") or "").strip().lower() in ("1", "true", "yes", "on")


def mailable_condition(hash_column):
    """The SQL condition "the address whose hash is `hash_column` may be mailed now" (see the module's rule)."""
    suppressed = exists(select(Suppression.id).where(Suppression.email_hash == hash_column,
                                                     Suppression.deleted_at.is_(None)))
    on_email = and_(Consent.email_hash == hash_column, Consent.channel == "email")
    if require_opt_in():
        allowed = exists(select(Consent.id).where(on_email, Consent.status == "opted_in"))
    else:
        allowed = ~exists(select(Consent.id).where(on_email, Consent.status.in_(BLOCKING)))
    return and_(~suppressed, allowed)


def mailable(session, email_hashes) -> set[str]:
    """Of the given address hashes, those that may be mailed now."""
    hashes = sorted(set(email_hashes))
    if not hashes:
        return set()
    blocked = set(session.execute(select(Suppression.email_hash).where(
        Suppression.email_hash.in_(hashes), Suppression.deleted_at.is_(None))).scalars())
    statuses = dict(session.execute(select(Consent.email_hash, Consent.status).where(
        Consent.email_hash.in_(hashes), Consent.channel == "email")).all())
    if require_opt_in():
        return {h for h in hashes if h not in blocked and statuses.get(h) == "opted_in"}
    return {h for h in hashes if h not in blocked and statuses.get(h) not in BLOCKING}


def _find(session, digest: str, channel: str) -> Consent | None:
    return session.execute(select(Consent).where(Consent.email_hash == digest, Consent.channel == channel)
                           ).scalar_one_or_none()


def _emit(ctx, consent: Consent, previous: str | None, changed: list[str]) -> None:
    ctx.emit(c.CONSENT_CHANGED, {"id": consent.id, "channel": consent.channel, "status": consent.status,
                                 "previous_status": previous, "source": consent.source,
                                 "captured_at": rfc3339(consent.captured_at) if consent.captured_at else None, "text_version": consent.text_version,
                                 "contact_id": consent.contact_id, "lead_id": consent.lead_id,
                                 "changed_fields": changed})


def _change(ctx, consent: Consent, values: dict) -> Consent:
    previous = consent.status
    changed = [name for name in PROOF if name in values and getattr(consent, name) != values[name]]
    for name in changed:
        setattr(consent, name, values[name])
    if "status" in changed:
        consent.confirm_token_hash = None  # an old confirmation link never turns a later answer into opted_in
        if consent.status != "opted_in":
            consent.confirmed_at = None
    if changed:
        ctx.session.flush()
        _emit(ctx, consent, previous, changed)
    return consent


def _values(data: dict) -> dict:
    values = {name: data[name] for name in PROOF if name in data}
    if "ip" in values and values["ip"] is not None:
        values["ip"] = str(values["ip"])
    for name in ("contact_id", "lead_id"):
        if values.get(name) is not None:
            values[name] = str(values[name])
    return values


def record(ctx, email: str, channel: str, status: str, source: str, ip: str | None = None,
           text_version: str | None = None, contact_id: str | None = None, lead_id: str | None = None,
           captured_at=None) -> Consent:
    """Record what an address said on a channel (forms, unsubscribes, the API): its one record for the channel
    is created or changed, and the change announced. `email` as normalise_email gives it."""
    values = _values({"status": status, "source": source, "captured_at": captured_at or utcnow(), "ip": ip,
                      "text_version": text_version})
    values.update({k: v for k, v in (("contact_id", contact_id), ("lead_id", lead_id)) if v})
    digest = email_hash(email)
    found = _find(ctx.session, digest, channel)
    if found is not None:
        found.email = found.email or email
        return _change(ctx, found, values)
    consent = Consent(email=email, email_hash=digest, channel=channel, created_by=ctx.caller.user_id, **values)
    try:
        with ctx.session.begin_nested():  # a racing writer added it first: change theirs
            ctx.session.add(consent)
            ctx.session.flush()
    except IntegrityError as exc:
        found = _find(ctx.session, digest, channel) if is_unique_violation(exc) else None
        if found is None:
            raise
        return _change(ctx, found, values)
    _emit(ctx, consent, None, ["status"] + [name for name in PROOF[1:] if values.get(name) is not None])
    return consent


def create(ctx, data: dict) -> Consent:
    """POST /consents: the address's record for the channel, created or changed (consent.create)."""
    return record(ctx, data["email"], data["channel"], data["status"], data.get("source") or "api",
                  ip=data.get("ip"), text_version=data.get("text_version"), contact_id=data.get("contact_id"),
                  lead_id=data.get("lead_id"), captured_at=data.get("captured_at"))


def _load(ctx, record_id: str, action: str) -> Consent:
    consent = ctx.session.get(Consent, record_id)
    if consent is None:
        raise not_found(WHAT)
    return scope.require(ctx.caller, RESOURCE, action, consent, WHAT)


def get(ctx, record_id: str) -> Consent:
    return _load(ctx, record_id, "read")


def update(ctx, record_id: str, data: dict, expected_version: int | None = None) -> Consent:
    consent = _load(ctx, record_id, "update")
    check_version(consent, expected_version)
    values = _values(data)
    if "status" in values and "captured_at" not in values:
        values["captured_at"] = utcnow()  # a new answer is captured now unless told when
    return _change(ctx, consent, values)


def page(ctx, query: dict) -> dict:
    select_ = scope.visible(select(Consent), ctx.caller, RESOURCE, "read", Consent)
    if query.get("email"):
        select_ = select_.where(Consent.email_hash == email_hash(query["email"]))
    for name in ("channel", "status", "contact_id"):
        if query.get(name):
            select_ = select_.where(getattr(Consent, name) == str(query[name]))
    text = (query.get("q") or "").strip().lower()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        select_ = select_.where(Consent.email.ilike(pattern, escape="\\") | Consent.source.ilike(pattern, escape="\\"))
    rows, cursor = paging.paginate(ctx.session, select_, Consent, sort=query.get("sort") or "-created_at",
                                   limit=query.get("limit") or 50, cursor=query.get("cursor"),
                                   sortable=("created_at", "updated_at"))
    return {"items": rows, "next_cursor": cursor}


# -- privacy (domain.privacy.PARTS) ---------------------------------------------------------------------

def _of_person(session, address: str) -> list[Consent]:
    digest = email_hash(c.normalise_email_leniently(address))
    return list(session.execute(select(Consent).where(Consent.email_hash == digest)).scalars())


def export(ctx, address: str) -> tuple[dict, dict]:
    found = [c.Consent().dump(consent) for consent in _of_person(ctx.session, address)]
    return ({"consents": found}, {"consents": len(found)}) if found else ({}, {})  # only what it held


def erase(ctx, address: str) -> dict:
    """The address and IP address go; status and channel stay under the hash (an opt-out keeps holding, and
    the suppression list keeps the erased address from every send)."""
    found = _of_person(ctx.session, address)
    for consent in found:
        changed = [name for name in ("email", "ip") if getattr(consent, name) is not None]
        consent.email, consent.ip, consent.confirm_token_hash = None, None, None
        if changed:
            ctx.session.flush()
            ctx.emit(c.RECORD_CHANGED, {"entity": "consent", "id": consent.id, "action": "update",
                                        "changed_fields": changed})
    return {"consents": len(found)} if found else {}
