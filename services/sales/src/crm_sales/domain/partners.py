"""Partners: accounts of the channel with a tier and a territory, and the training and certification records a
tier requires. Partner users (role partner, with the partner_id of their token) reach their own partner's records
only: for them a scope below "all" means "of my partner", and another partner's record is not found."""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import false, func, or_, select, true

import crm_sales_contracts as c
from crm_common import paging
from crm_common.db import utcnow
from crm_common.errors import ServiceError, not_found, validation
from crm_common.versioning import check_version
from crm_sales.domain import records
from crm_sales.models import Account, Partner, PartnerTraining, Territory

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

# valid (unexpired) certifications each tier requires
TIER_CERTIFICATIONS = {"registered": 0, "silver": 1, "gold": 2, "platinum": 3}
EDITABLE = ("name", "tier", "territory_id", "account_id", "email", "active")


# -- the partner scope ---------------------------------------------------------------------------------

def partner_clause(actor, resource: str, action: str, column):
    """Rows of `column` (a partner_id) the actor may `action`: every row with scope all, their partner's rows with a
    narrower one (none without a partner)."""
    scope = actor.scope(resource, action)
    if scope == "all":
        return true()
    if scope == "none" or not actor.partner_id:
        return false()
    return column == actor.partner_id


def allows(actor, resource: str, action: str, partner_id: str | None) -> bool:
    scope = actor.scope(resource, action)
    return scope == "all" or (scope != "none" and bool(actor.partner_id) and partner_id == actor.partner_id)


def require(actor, resource: str, action: str, partner_id: str | None, what: str):
    if not allows(actor, resource, "read", partner_id):
        raise not_found(what)
    if action != "read" and not allows(actor, resource, action, partner_id):
        raise ServiceError("forbidden", f"your role may not {action} this {what}")


def load(ctx: Context, record_id: str, action: str = "read") -> Partner:
    partner = ctx.session.get(Partner, record_id) if record_id else None
    if partner is None or partner.deleted_at is not None:
        raise not_found("partner")
    require(ctx.caller, "partner", action, partner.id, "partner")
    return partner


# -- partners ------------------------------------------------------------------------------------------

def event_data(partner: Partner, changed: list[str] | None = None) -> dict:
    data = {"id": partner.id, "name": partner.name, "tier": partner.tier, "territory_id": partner.territory_id}
    if changed is not None:
        data["changed_fields"] = changed
    return data


def get(ctx: Context, record_id: str) -> Partner:
    return load(ctx, record_id)


def page(ctx: Context, query: dict) -> dict:
    stmt = select(Partner).where(Partner.deleted_at.is_(None), partner_clause(ctx.caller, "partner", "read", Partner.id))
    for name in ("tier", "territory_id", "active"):
        if query.get(name) is not None:
            stmt = stmt.where(getattr(Partner, name) == query[name])
    text = (query.get("q") or "").strip()
    if text:
        stmt = stmt.where(Partner.name.ilike(f"%{text.lower()}%"))
    rows, cursor = paging.paginate(ctx.session, stmt, Partner, sort=query.get("sort") or "-created_at",
                                   limit=query.get("limit") or 50, cursor=query.get("cursor"),
                                   sortable=c.PartnerFilters.SORTABLE)
    return {"items": rows, "next_cursor": cursor}


def valid_certifications(session, partner_id: str, on: date) -> int:
    return session.execute(select(func.count()).select_from(PartnerTraining).where(
        PartnerTraining.partner_id == partner_id, PartnerTraining.kind == "certification",
        PartnerTraining.completed_on <= on,
        or_(PartnerTraining.expires_on.is_(None), PartnerTraining.expires_on > on))).scalar()


def _check(ctx: Context, partner_id: str | None, data: dict) -> None:
    errors: dict = {}
    if data.get("territory_id") and ctx.session.get(Territory, data["territory_id"]) is None:
        errors["territory_id"] = ["no such territory"]
    if data.get("account_id"):
        account = ctx.session.get(Account, data["account_id"])
        if account is None or account.deleted_at is not None:
            errors["account_id"] = ["no such account"]
    tier = data.get("tier")
    if tier:
        needed = TIER_CERTIFICATIONS[tier]
        held = valid_certifications(ctx.session, partner_id, utcnow().date()) if partner_id else 0
        if held < needed:
            errors["tier"] = [f"{tier} needs {needed} valid certifications; the partner holds {held}"]
    if errors:
        raise validation(errors)


def _normal(data: dict) -> dict:
    if data.get("email"):
        data = {**data, "email": data["email"].strip().lower()}
    return data


def create(ctx: Context, data: dict) -> Partner:
    data = _normal(data)
    _check(ctx, None, data)
    partner = Partner(**{k: data.get(k) for k in EDITABLE if k in data}, owner_id=ctx.caller.user_id)
    partner.tier, partner.active = data.get("tier") or "registered", True
    ctx.session.add(partner)
    ctx.session.flush()
    ctx.emit(c.PARTNER_CREATED, event_data(partner))
    return partner


def update(ctx: Context, record_id: str, data: dict, expected_version: int | None = None) -> Partner:
    partner = load(ctx, record_id, "update")
    check_version(partner, expected_version)
    data = _normal(data)
    _check(ctx, partner.id, {k: v for k, v in data.items() if k != "tier" or v != partner.tier})
    changed = records.apply(partner, data, EDITABLE)
    ctx.session.flush()
    if changed:
        ctx.emit(c.PARTNER_UPDATED, event_data(partner, changed))
    return partner


# -- training and certification ------------------------------------------------------------------------

def trainings(ctx: Context, record_id: str) -> dict:
    partner = load(ctx, record_id)
    rows = ctx.session.execute(select(PartnerTraining).where(PartnerTraining.partner_id == partner.id)
                               .order_by(PartnerTraining.completed_on.desc(), PartnerTraining.id)).scalars().all()
    return {"items": rows, "next_cursor": None}


def add_training(ctx: Context, record_id: str, data: dict) -> PartnerTraining:
    partner = load(ctx, record_id, "update")
    for name in ("completed_on", "expires_on"):
        if data.get(name) is not None and not 1900 <= data[name].year <= 2900:
            raise validation({name: ["a day from 1900 to 2900"]})
    if data.get("expires_on") and data["expires_on"] <= data["completed_on"]:
        raise validation({"expires_on": ["after completed_on"]})
    entry = PartnerTraining(partner_id=partner.id, **data)
    ctx.session.add(entry)
    ctx.session.flush()
    records.changed(ctx, "partner", partner.id, "update", ["trainings"])
    return entry
