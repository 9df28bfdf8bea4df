"""Opportunities: pipelines and stages with default probabilities, lost reasons, stage history."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select

import crm_sales_contracts as c
from crm_common.context import Actor
from crm_common.db import utcnow
from crm_common.errors import ServiceError, validation
from crm_sales.domain import records, users
from crm_sales.models import Account, Contact, Opportunity, Pipeline, StageHistory

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

EDITABLE = ("name", "account_id", "contact_id", "owner_id", "amount", "currency", "probability",
            "expected_close_date", "lost_reason", "campaign_id", "forecast_category", "custom_fields", "tags")
CLOSED = ("closed_won", "closed_lost")
SEARCH = (Opportunity.name,)
get = records.reader("opportunity", Opportunity)
page = records.lister("opportunity", Opportunity, c.OpportunityFilters.SORTABLE, SEARCH)
delete = records.deleter("opportunity", Opportunity)


def stages_of(session, pipeline_id: str | None) -> dict[str, int]:
    """Stage name -> default probability, in order."""
    if pipeline_id:
        pipeline = session.get(Pipeline, pipeline_id)
        if pipeline is None or pipeline.deleted_at is not None:
            raise validation({"pipeline_id": ["no such pipeline"]})
        return {s["name"]: s["probability"] for s in pipeline.stages}
    return dict(c.DEFAULT_STAGES)


def event_data(opp: Opportunity) -> dict:
    return {"id": opp.id, "name": opp.name, "account_id": opp.account_id, "contact_id": opp.contact_id,
            "owner_id": opp.owner_id, "team_id": opp.team_id, "territory_id": opp.territory_id,
            "amount": str(opp.amount), "currency": opp.currency, "stage": opp.stage, "probability": opp.probability,
            "expected_close_date": opp.expected_close_date.isoformat() if opp.expected_close_date else None,
            "campaign_id": opp.campaign_id, "lost_reason": opp.lost_reason,
            "closed_at": records.timestamp(opp.closed_at), "custom_fields": dict(opp.custom_fields or {}),
            "tags": list(opp.tags or [])}


def _links(ctx: Context, data: dict) -> Account | None:
    account = None
    if data.get("account_id"):
        account = records.load(ctx, "account", Account, data["account_id"], what="account")
    if data.get("contact_id"):
        contact = records.load(ctx, "contact", Contact, data["contact_id"], what="contact")
        if account is not None and contact.account_id not in (None, account.id):
            raise validation({"contact_id": ["the contact belongs to another account"]})
    return account


def _history(session, opp: Opportunity, actor: Actor, now) -> None:
    current = session.execute(select(StageHistory).where(StageHistory.opportunity_id == opp.id,
                                                         StageHistory.left_at.is_(None))).scalars().first()
    if current is not None:
        current.left_at = now
    session.add(StageHistory(opportunity_id=opp.id, stage=opp.stage, probability=opp.probability, amount=opp.amount,
                             changed_at=now, changed_by=actor.user_id))


def create(ctx: Context, data: dict) -> Opportunity:
    """A new deal at the first stage of its pipeline (or the stage given)."""
    return _create(ctx, data, check_owner=True, lead_id=None)


def create_from_lead(ctx: Context, data: dict, lead_id: str) -> Opportunity:
    """The deal of a converted lead: it keeps the lead's owner and names the lead."""
    return _create(ctx, data, check_owner=False, lead_id=lead_id)


def _create(ctx: Context, data: dict, check_owner: bool, lead_id: str | None) -> Opportunity:
    session, actor = ctx.session, ctx.caller
    if not actor.can("opportunity", "create"):
        raise ServiceError("forbidden", "your role may not create opportunities")
    owner_id = data.get("owner_id") or actor.user_id
    if check_owner and owner_id != actor.user_id and not actor.can("opportunity", "assign"):
        raise validation({"owner_id": ["your role may not give an opportunity to someone else"]})
    account = _links(ctx, data)
    stages = stages_of(session, data.get("pipeline_id"))
    stage = data.get("stage") or next(iter(stages))
    if stage not in stages:
        raise validation({"stage": [f"one of: {', '.join(stages)}"]})
    if stage == "closed_lost" and not data.get("lost_reason"):
        raise validation({"lost_reason": ["a lost opportunity needs a lost reason"]})
    now = utcnow()
    opp = Opportunity(name=data["name"], account_id=data.get("account_id"), contact_id=data.get("contact_id"),
                      amount=Decimal(data["amount"]), currency=data["currency"], pipeline_id=data.get("pipeline_id"),
                      stage=stage, probability=data.get("probability", stages[stage]),
                      forecast_category=data.get("forecast_category") or "pipeline",
                      expected_close_date=data.get("expected_close_date"), lost_reason=data.get("lost_reason"),
                      campaign_id=data.get("campaign_id"), stage_entered_at=now, lead_id=lead_id,
                      closed_at=now if stage in CLOSED else None, custom_fields=data.get("custom_fields") or {},
                      tags=data.get("tags") or [])
    opp.owner_id, opp.team_id = owner_id, users.team_of(session, owner_id, actor)
    opp.territory_id = account.territory_id if account else None
    session.add(opp)
    session.flush()
    _history(session, opp, actor, now)
    ctx.emit(c.OPPORTUNITY_CREATED, event_data(opp))
    return opp


def _partner_tier(session, partner_id: str | None) -> str | None:
    from crm_sales.models import Partner
    partner = session.get(Partner, partner_id) if partner_id else None
    return partner.tier if partner is not None else None


def update(ctx: Context, record_id: str, data: dict, expected_version: int | None = None) -> Opportunity:
    session, actor = ctx.session, ctx.caller
    opp = records.load_for_update(ctx, "opportunity", Opportunity, record_id, expected_version)
    if "owner_id" in data and data["owner_id"] != opp.owner_id and not actor.can("opportunity", "assign"):
        raise validation({"owner_id": ["your role may not give an opportunity to someone else"]})
    _links(ctx, {k: data.get(k) for k in ("account_id", "contact_id")
                            if data.get(k) and data.get(k) != getattr(opp, k)})
    stages = stages_of(session, opp.pipeline_id)
    old_stage = opp.stage
    new_stage = data.pop("stage", old_stage)
    if new_stage not in stages:
        raise validation({"stage": [f"one of: {', '.join(stages)}"]})
    if new_stage == "closed_lost" and not (data.get("lost_reason") or (old_stage == "closed_lost" and opp.lost_reason)):
        raise validation({"lost_reason": ["a lost opportunity needs a lost reason"]})
    if "amount" in data:
        data["amount"] = Decimal(data["amount"])
    changed = records.apply(opp, data, EDITABLE)
    if "owner_id" in changed:
        opp.team_id = users.team_of(session, opp.owner_id, actor)
    if "account_id" in changed:
        account = session.get(Account, opp.account_id) if opp.account_id else None
        opp.territory_id = account.territory_id if account else None
    now = utcnow()
    if new_stage != old_stage:
        opp.stage, opp.stage_entered_at = new_stage, now
        if "probability" not in data:
            opp.probability = stages[new_stage]
        opp.closed_at = now if new_stage in CLOSED else None
        if new_stage != "closed_lost":
            opp.lost_reason = None if old_stage == "closed_lost" and "lost_reason" not in data else opp.lost_reason
        if new_stage == "closed_won":
            opp.forecast_category = "commit"
        # the profit share of a partner's deal is at the tier the partner had when the deal was won
        opp.partner_tier = _partner_tier(session, opp.partner_id) if new_stage == "closed_won" else None
        changed += ["stage", "probability", "closed_at"]
        session.flush()
        _history(session, opp, actor, now)
    if not changed:
        return opp
    session.flush()
    ctx.emit(c.OPPORTUNITY_UPDATED, {**event_data(opp), "changed_fields": sorted(set(changed))})
    if new_stage != old_stage:
        ctx.emit(c.OPPORTUNITY_STAGE_CHANGED, {"id": opp.id, "from_stage": old_stage, "to_stage": new_stage,
                                           "probability": opp.probability, "amount": str(opp.amount),
                                           "currency": opp.currency, "owner_id": opp.owner_id,
                                           "account_id": opp.account_id})
        if new_stage == "closed_won":
            ctx.emit(c.OPPORTUNITY_WON, event_data(opp))
        elif new_stage == "closed_lost":
            ctx.emit(c.OPPORTUNITY_LOST, event_data(opp))
    return opp


def history(ctx: Context, record_id: str) -> dict:
    """Every stage the opportunity was in, with who moved it, when, and how long it stayed."""
    records.load(ctx, "opportunity", Opportunity, record_id)
    now = utcnow()
    rows = ctx.session.execute(select(StageHistory).where(StageHistory.opportunity_id == record_id)
                               .order_by(StageHistory.changed_at, StageHistory.id)).scalars()
    return {"items": [{"stage": h.stage, "probability": h.probability, "amount": h.amount, "changed_at": h.changed_at,
             "changed_by": h.changed_by, "left_at": h.left_at,
             "seconds_in_stage": int(((h.left_at or now) - h.changed_at).total_seconds())} for h in rows]}


def create_pipeline(ctx: Context, data: dict) -> Pipeline:
    """A pipeline of stages (unique names, with closed_won and closed_lost), configured by administrators."""
    actor = ctx.caller
    if not actor.can("opportunity", "admin") and not actor.is_admin:
        raise ServiceError("forbidden", "pipelines are configured by administrators")
    names = [stage["name"] for stage in data["stages"]]
    if len(set(names)) != len(names):
        raise validation({"stages": ["stage names must be unique"]})
    if "closed_won" not in names or "closed_lost" not in names:
        raise validation({"stages": ["a pipeline needs closed_won and closed_lost stages"]})
    pipeline = Pipeline(name=data["name"], stages=[dict(s) for s in data["stages"]])
    ctx.session.add(pipeline)
    ctx.session.flush()
    records.changed(ctx, "pipeline", pipeline.id, "create")
    return pipeline


def pipelines(ctx: Context) -> dict:
    """The default pipeline and the configured ones."""
    default = {"id": "default", "name": "Default", "version": 1,
               "stages": [{"name": n, "probability": p} for n, p in c.DEFAULT_STAGES]}
    rows = ctx.session.execute(select(Pipeline).where(Pipeline.deleted_at.is_(None))
                               .order_by(Pipeline.name)).scalars()
    return {"items": [default, *rows]}
