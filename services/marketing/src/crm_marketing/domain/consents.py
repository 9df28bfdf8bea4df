"""Consents: the current consent of an address on a channel (email, sms, phone) with its proof (source, time,
IP address, consent text version); every change emits `marketing.consent_changed.v1`, the history.

One record per address (by its SHA-256 hash) and channel: posting again changes that record. The permission
resource is `consent`; record scope "own" means the consents one recorded.

Who may be mailed (`skip_reason`, the one rule, which sending applies to each recipient at send time): an
address is mailable when it is not on the suppression list and its email consent allows it. By default (`CRM_MARKETING_REQUIRE_OPT_IN` unset or false)
an address with no email consent may be mailed, and one whose email consent is opted_out or pending (a double
opt-in not yet confirmed) may not. With `CRM_MARKETING_REQUIRE_OPT_IN=true` (what a company mailing EU people
without another legal basis sets) only an opted_in address may be mailed. A campaign for a content topic
(`campaigns.topic`, sales' content subscriptions kept in `audience_topics`) also skips an address whose
subscriptions to that topic all ended (`topic_unsubscribed`); other topics' campaigns still reach it.
"""
from __future__ import annotations

from sqlalchemy import String, and_, case, exists, literal, null, or_, select, union_all
from sqlalchemy.exc import IntegrityError

import crm_marketing_contracts as c
from crm_common import config, paging, scope
from crm_common.db import utcnow
from crm_common.envelope import rfc3339
from crm_common.errors import not_found
from crm_common.unit_of_work import is_unique_violation
from crm_common.versioning import check_version
from crm_marketing.domain.suppressions import email_hash
from crm_marketing.models import AudienceMember, AudienceTopic, Consent, Suppression

RESOURCE, WHAT = "consent", "consent"
PROOF = ("status", "source", "captured_at", "ip", "text_version", "contact_id", "lead_id")


def require_opt_in() -> bool:
    """The one consent setting: CRM_MARKETING_REQUIRE_OPT_IN (default false)."""
    return (config.env("CRM_MARKETING_REQUIRE_OPT_IN", "false") or "").strip().lower() in ("1", "true", "yes", "on")


def topic_unsubscribed(hash_column, topic: str):
    """SQL: the address whose hash is `hash_column` unsubscribed from `topic` in sales: it has subscriptions to
    the topic (by the address, or as a contact of that address) and none of them is on."""
    as_contact = exists(select(AudienceMember.id).where(
        AudienceMember.source_id == AudienceTopic.contact_id, AudienceMember.kind == "contact",
        AudienceMember.email_hash == hash_column).correlate_except(AudienceMember))
    theirs = select(AudienceTopic.id).where(AudienceTopic.topic == topic, or_(
        AudienceTopic.email_hash == hash_column, as_contact)).correlate_except(AudienceTopic)
    return and_(exists(theirs.where(AudienceTopic.subscribed.is_(False))),
                ~exists(theirs.where(AudienceTopic.subscribed.is_(True))))


def skip_reason(hash_column, topic: str | None = None):
    """The one mailability rule, as SQL over the address whose hash is `hash_column`: why it may not be mailed
    now (`suppressed`; `consent_pending`, a double opt-in not confirmed; `no_consent`, opted out or, when opt-in
    is required, never opted in; for a campaign of a content `topic`, `topic_unsubscribed`), NULL when it may be."""
    suppressed = exists(select(Suppression.id).where(Suppression.email_hash == hash_column,
                                                     Suppression.deleted_at.is_(None)))
    status = select(Consent.status).where(Consent.email_hash == hash_column, Consent.channel == "email") \
        .limit(1).scalar_subquery()
    refused = status == "opted_out"
    if require_opt_in():
        refused = or_(status.is_(None), status != "opted_in")
    reasons = [(suppressed, "suppressed"), (status == "pending", "consent_pending"), (refused, "no_consent")]
    if topic is not None:
        reasons.append((topic_unsubscribed(hash_column, topic), "topic_unsubscribed"))
    return case(*reasons, else_=null())


def mailable_condition(hash_column):
    """The SQL condition "the address whose hash is `hash_column` may be mailed now" (see `skip_reason`)."""
    return skip_reason(hash_column).is_(None)


def skip_reasons(session, email_hashes, topic: str | None = None) -> dict[str, str]:
    """Of the given address hashes, those that may not be mailed now (by a campaign of `topic`), with why
    (`skip_reason`)."""
    hashes, reasons = sorted(set(email_hashes)), {}
    for start in range(0, len(hashes), 400):  # SQLite compounds at most 500 SELECTs
        given = union_all(*(select(literal(h, String).label("h")) for h in hashes[start:start + 400])).subquery()
        reason = skip_reason(given.c.h, topic)
        reasons.update(session.execute(select(given.c.h, reason).where(reason.is_not(None))).all())
    return reasons


def mailable(session, email_hashes, topic: str | None = None) -> set[str]:
    """Of the given address hashes, those that may be mailed now (by a campaign of `topic`)."""
    return set(email_hashes) - set(skip_reasons(session, email_hashes, topic))


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
