"""The suppression list: addresses the suite never mails (bounces, complaints, unsubscribes, manual, erased).

Every function takes the call's `ctx` (crm_common.entrypoint.Context). An entry is found by the SHA-256
hash of its address, so an erased entry (no address left) still suppresses it. The permission resource is
`consent`; record scope "own" means the entries the caller added. Lifting keeps the entry, hidden.
"""
from __future__ import annotations

import hashlib

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

import crm_marketing_contracts as c
from crm_common import paging, scope
from crm_common.db import utcnow
from crm_common.envelope import rfc3339
from crm_common.errors import ServiceError, conflict, not_found
from crm_common.unit_of_work import is_unique_violation
from crm_common.versioning import check_version
from crm_marketing.models import Suppression

RESOURCE, WHAT = "consent", "suppression entry"
LIFTABLE = ("manual", "hard_bounce")  # an address fixed, a mistake undone; the others the person asked for
ASKED = ("unsubscribe", "complaint")  # the person's own request: it outranks a liftable entry
SORT_COLUMNS = {"created_at": "created_at", "email": "sort_email"}  # erased entries sort as ""
SEARCHED = (Suppression.email, Suppression.note, Suppression.source)


def email_hash(address: str) -> str:
    """SHA-256 (hex) of an address as `normalise_email` gives it."""
    return hashlib.sha256(address.encode("utf-8")).hexdigest()


def _live(session, digest: str) -> Suppression | None:
    return session.execute(select(Suppression).where(Suppression.email_hash == digest,
                                                     Suppression.deleted_at.is_(None))).scalar_one_or_none()


def _already(entry: Suppression) -> ServiceError:
    return conflict(f"this address is already on the suppression list (entry {entry.id}, reason {entry.reason})",
                    existing_id=entry.id, reason=entry.reason)


def _load(ctx, record_id: str, action: str) -> Suppression:
    entry = ctx.session.get(Suppression, record_id)
    if entry is None or entry.deleted_at is not None:
        raise not_found(WHAT)
    return scope.require(ctx.caller, RESOURCE, action, entry, WHAT)


def create(ctx, data: dict) -> Suppression:
    """Put an address on the list; a second entry for it is a 409 naming the one it has, except that the
    person's own request (unsubscribe, complaint) upgrades a liftable entry, which can then no longer be
    lifted (else lifting a manual entry would make mailable someone who unsubscribed)."""
    digest = email_hash(data["email"])
    found = _live(ctx.session, digest)
    if found is not None:
        if found.reason in LIFTABLE and data["reason"] in ASKED:
            return _upgrade(ctx, found, data)
        raise _already(found)
    entry = Suppression(email=data["email"], email_hash=digest, reason=data["reason"], note=data.get("note"),
                        source=data.get("source"), created_by=ctx.caller.user_id)
    try:
        with ctx.session.begin_nested():  # another writer may have added it since: answer with its entry
            ctx.session.add(entry)
            ctx.session.flush()
    except IntegrityError as exc:
        found = _live(ctx.session, digest) if is_unique_violation(exc) else None
        if found is None:
            raise
        raise _already(found) from None
    ctx.emit(c.SUPPRESSION_ADDED, {"id": entry.id, "reason": entry.reason, "source": entry.source})
    return entry


def _upgrade(ctx, entry: Suppression, data: dict) -> Suppression:
    # whoever added the entry: a caller that may add entries records the person's request on it
    changed = ["reason"] + [name for name in ("note", "source") if data.get(name) not in (None, getattr(entry, name))]
    entry.reason = data["reason"]
    for name in changed[1:]:
        setattr(entry, name, data[name])
    ctx.session.flush()
    ctx.emit(c.RECORD_CHANGED, {"entity": "suppression", "id": entry.id, "action": "update", "changed_fields": changed})
    return entry


def get(ctx, record_id: str) -> Suppression:
    return _load(ctx, record_id, "read")


def page(ctx, query: dict) -> dict:
    """One page of the live entries the caller may see; `email` matches by hash (erased entries too)."""
    select_ = scope.visible(select(Suppression).where(Suppression.deleted_at.is_(None)),
                            ctx.caller, RESOURCE, "read", Suppression)
    if query.get("reason"):
        select_ = select_.where(Suppression.reason == query["reason"])
    if query.get("email"):
        select_ = select_.where(Suppression.email_hash == email_hash(query["email"]))
    text = (query.get("q") or "").strip().lower()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        select_ = select_.where(or_(*[column.ilike(pattern, escape="\\") for column in SEARCHED]))
    sort = query.get("sort") or "-created_at"
    column = ("-" if sort.startswith("-") else "") + SORT_COLUMNS.get(sort.lstrip("-"), sort.lstrip("-"))
    rows, cursor = paging.paginate(ctx.session, select_, Suppression, sort=column,
                                   limit=query.get("limit") or 50, cursor=query.get("cursor"),
                                   sortable=tuple(SORT_COLUMNS.values()))
    return {"items": rows, "next_cursor": cursor}


def lift(ctx, record_id: str, expected_version: int | None = None) -> None:
    """Lift a `manual` or `hard_bounce` entry (the address may be mailed again); the entry is kept, hidden.
    A complaint, unsubscribe or erased entry stays: the person asked not to be mailed (409)."""
    entry = _load(ctx, record_id, "delete")
    check_version(entry, expected_version)
    if entry.reason not in LIFTABLE:
        raise conflict(f"a {entry.reason} entry cannot be lifted: the person asked not to be mailed "
                       f"(only {' and '.join(LIFTABLE)} entries can be)", reason=entry.reason)
    entry.deleted_at, entry.deleted_by = utcnow(), ctx.caller.user_id
    ctx.session.flush()
    ctx.emit(c.SUPPRESSION_LIFTED, {"id": entry.id, "reason": entry.reason})


def check(ctx, query: dict) -> dict:
    """Whether the address may be mailed. Any caller that reads the list gets the answer, whatever its
    record scope: a sender must never mail a suppressed address it could not list."""
    reason = ctx.session.execute(select(Suppression.reason).where(
        Suppression.email_hash == email_hash(query["email"]), Suppression.deleted_at.is_(None))).scalar()
    return {"email": query["email"], "suppressed": reason is not None, "reason": reason}


# -- privacy: what the privacy request handler asks (identity.privacy_requested.v1) --------------------

def _of_person(session, address: str) -> tuple[Suppression | None, list[Suppression]]:
    """The live entry of an address (by hash: erased too) and its lifted entries (by address)."""
    lifted = session.execute(select(Suppression).where(Suppression.email == address,
                                                       Suppression.deleted_at.is_not(None))).scalars().all()
    return _live(session, email_hash(address)), list(lifted)


def export(ctx, address: str) -> tuple[dict, dict]:
    """What the list holds of an address: its entry and the lifted ones (data, counts); each export is
    recorded in the audit trail."""
    live, lifted = _of_person(ctx.session, c.normalise_email_leniently(address))
    entries = [c.Suppression().dump(entry) for entry in ([live] if live else [])]
    entries += [{**c.Suppression().dump(entry), "lifted_at": rfc3339(entry.deleted_at)} for entry in lifted]
    for entry in entries:
        _changed(ctx, entry["id"], "export")
    return {"suppressions": entries}, {"suppressions": len(entries)}


def erase(ctx, address: str) -> dict:
    """Erase an address: its live entry keeps suppressing it by the hash alone (email and note gone, reason
    `erased`; an address with no entry gets one), so the person is never mailed again; its lifted entries,
    which suppress nothing, are deleted."""
    address = c.normalise_email_leniently(address)
    live, lifted = _of_person(ctx.session, address)
    if live is None:  # never mailed again: an entry of the hash alone, whatever else marketing held of them
        live = Suppression(email=None, email_hash=email_hash(address), reason="erased", source="privacy_request")
        ctx.session.add(live)
        ctx.session.flush()
        ctx.emit(c.SUPPRESSION_ADDED, {"id": live.id, "reason": live.reason, "source": live.source})
    else:
        changed = [name for name, value in (("email", None), ("note", None), ("reason", "erased"))
                   if getattr(live, name) != value]
        live.email, live.note, live.reason = None, None, "erased"
        ctx.session.flush()
        if changed:
            _changed(ctx, live.id, "update", changed)
    for entry in lifted:
        ctx.session.delete(entry)
        _changed(ctx, entry.id, "delete")
    ctx.session.flush()
    return {"suppressions": 1 + len(lifted)}


def _changed(ctx, record_id: str, action: str, fields: list[str] | None = None) -> None:
    """`marketing.record_changed.v1` for a change with no event of its own: the audit trail records it."""
    ctx.emit(c.RECORD_CHANGED, {"entity": "suppression", "id": record_id, "action": action,
                                "changed_fields": fields or []})
