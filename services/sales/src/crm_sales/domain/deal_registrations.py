"""Deal registration: a partner registers an opportunity; a conflict with an existing account, an open deal or
another partner's registration of the same account is flagged; a channel manager approves (the account is found
or created, the opportunity is created, owned by the approver and linked to the partner) or rejects it."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import func, select

import crm_sales_contracts as c
from crm_common import paging, scope
from crm_common.db import utcnow
from crm_common.errors import ServiceError, not_found, validation
from crm_sales.domain import accounts, checks, opportunities, partners
from crm_sales.models import Account, DealRegistration, Opportunity, Partner

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

RESOURCE = "deal_registration"
OPEN_STAGES_EXCLUDED = opportunities.CLOSED


def _stage(ctx: Context, reg: DealRegistration) -> DealRegistration:
    """The registration with the stage of its opportunity (what the partner follows)."""
    stage = None
    if reg.opportunity_id:
        opp = ctx.session.get(Opportunity, reg.opportunity_id)
        stage = opp.stage if opp is not None and opp.deleted_at is None else None
    reg.opportunity_stage = stage
    return reg


def event_data(reg: DealRegistration) -> dict:
    return {"id": reg.id, "partner_id": reg.partner_id, "status": reg.status, "conflict": reg.conflict,
            "amount": str(reg.amount), "currency": reg.currency, "opportunity_id": reg.opportunity_id,
            "account_id": reg.account_id}


def load(ctx: Context, record_id: str, action: str = "read") -> DealRegistration:
    reg = ctx.session.get(DealRegistration, record_id) if record_id else None
    if reg is None or reg.deleted_at is not None:
        raise not_found("deal registration")
    partners.require(ctx.caller, RESOURCE, action, reg.partner_id, "deal registration")
    return reg


def get(ctx: Context, record_id: str) -> DealRegistration:
    return _stage(ctx, load(ctx, record_id))


def page(ctx: Context, query: dict) -> dict:
    reg = DealRegistration
    stmt = select(reg).where(reg.deleted_at.is_(None), partners.partner_clause(ctx.caller, RESOURCE, "read",
                                                                                reg.partner_id))
    for name in ("partner_id", "status", "conflict"):
        if query.get(name) is not None:
            stmt = stmt.where(getattr(reg, name) == query[name])
    rows, cursor = paging.paginate(ctx.session, stmt, reg, sort=query.get("sort") or "-created_at",
                                   limit=query.get("limit") or 50, cursor=query.get("cursor"),
                                   sortable=c.DealRegistrationFilters.SORTABLE)
    return {"items": [_stage(ctx, r) for r in rows], "next_cursor": cursor}


def conflicts_of(session, account_key: str, opportunity_name: str, partner_id: str) -> list[dict]:
    """What the registration may collide with: the account by name, its open deals, an open deal of the same
    name, and another partner's live registration of the account."""
    found: list[dict] = []
    account_rows = session.execute(select(Account.id, Account.name).where(
        Account.name_key == account_key, Account.deleted_at.is_(None), Account.merged_into_id.is_(None))).all()
    found += [{"kind": "account", "id": a.id, "name": a.name} for a in account_rows]
    open_deal = Opportunity.stage.notin_(OPEN_STAGES_EXCLUDED) & Opportunity.deleted_at.is_(None)
    deals = session.execute(select(Opportunity.id, Opportunity.name).where(
        open_deal, (Opportunity.account_id.in_([a.id for a in account_rows]))
        | (func.lower(Opportunity.name) == opportunity_name.strip().lower()))).all()
    found += [{"kind": "opportunity", "id": d.id, "name": d.name} for d in deals]
    others = session.execute(select(DealRegistration.id, DealRegistration.account_name).where(
        DealRegistration.account_key == account_key, DealRegistration.partner_id != partner_id,
        DealRegistration.status.in_(("pending", "approved")), DealRegistration.deleted_at.is_(None))).all()
    found += [{"kind": "registration", "id": r.id, "name": r.account_name} for r in others]
    return found


def create(ctx: Context, data: dict) -> DealRegistration:
    """A partner user registers for their own partner (partner_id may be left out); a channel manager names it."""
    actor = ctx.caller
    partner_id = data.get("partner_id") or actor.partner_id
    if not partner_id:
        raise validation({"partner_id": ["name the partner"]})
    partner = ctx.session.get(Partner, partner_id)
    if partner is None or partner.deleted_at is not None or not partners.allows(actor, RESOURCE, "create", partner_id):
        raise validation({"partner_id": ["no such partner of yours"]})
    if not partner.active:
        raise validation({"partner_id": ["this partner is inactive"]})
    close = data.get("expected_close_date")
    if close is not None and not 1900 <= close.year <= 2900:
        raise validation({"expected_close_date": ["a day from 1900 to 2900"]})
    key = checks.key(data["account_name"]) or data["account_name"].lower()
    found = conflicts_of(ctx.session, key, data["opportunity_name"], partner.id)
    reg = DealRegistration(partner_id=partner.id, account_name=data["account_name"].strip(), account_key=key,
                           opportunity_name=data["opportunity_name"].strip(), amount=Decimal(data["amount"]),
                           currency=data["currency"], expected_close_date=data.get("expected_close_date"),
                           status="pending", conflict=bool(found), conflicts=found, registered_by=actor.user_id)
    ctx.session.add(reg)
    ctx.session.flush()
    ctx.emit(c.DEAL_REGISTERED, event_data(reg))
    return _stage(ctx, reg)


def _decide(ctx: Context, record_id: str, data: dict, status: str) -> DealRegistration:
    reg = load(ctx, record_id, "admin")
    if reg.status != "pending":
        raise ServiceError("conflict", f"this registration is {reg.status} already")
    reg.status, reg.decided_by, reg.decided_at = status, ctx.caller.user_id, utcnow()
    reg.decision_note = (data or {}).get("note")
    return reg


def approve(ctx: Context, record_id: str, data: dict) -> DealRegistration:
    """Approve: the account of that name (the only live one) or a new one, and a new opportunity owned by the
    approver and linked to the partner."""
    reg = _decide(ctx, record_id, data, "approved")
    session = ctx.session
    same = session.execute(select(Account).where(Account.name_key == reg.account_key, Account.deleted_at.is_(None),
                                                 Account.merged_into_id.is_(None))).scalars().all()
    account = same[0] if len(same) == 1 else accounts.create(ctx, {"name": reg.account_name})
    linked = scope.allows(ctx.caller, "account", "read", account)  # else linked below, past the approver's scope
    opp = opportunities.create(ctx, {"name": reg.opportunity_name, "amount": str(reg.amount),
                                     "currency": reg.currency, "expected_close_date": reg.expected_close_date,
                                     **({"account_id": account.id} if linked else {})})
    opp.account_id, opp.territory_id, opp.partner_id = account.id, account.territory_id, reg.partner_id
    reg.account_id, reg.opportunity_id = account.id, opp.id
    session.flush()
    ctx.emit(c.DEAL_REGISTRATION_DECIDED, event_data(reg))
    return _stage(ctx, reg)


def reject(ctx: Context, record_id: str, data: dict) -> DealRegistration:
    reg = _decide(ctx, record_id, data, "rejected")
    ctx.session.flush()
    ctx.emit(c.DEAL_REGISTRATION_DECIDED, event_data(reg))
    return _stage(ctx, reg)
