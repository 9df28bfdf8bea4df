"""Campaigns: what a campaign is, where it is in its flow, and whether it can be sent.

Every function takes the call's `ctx`. The permission resource is `campaign` (record scope "own": the
campaigns the caller created). Soft delete. The send itself (POST .../send, test sends, the A/B winner)
is `domain.sending`'s; it moves an email campaign along the flow with `move(ctx, campaign, status)` and asks
`ready_to_send(campaign)` first.
"""
from __future__ import annotations

from sqlalchemy import delete as sql_delete
from sqlalchemy import or_, select
from sqlalchemy.orm import object_session

import crm_marketing_contracts as c
from crm_common import paging, scope
from crm_common.db import utcnow
from crm_common.errors import conflict, not_found, validation
from crm_common.versioning import check_version
from crm_marketing.models import Campaign, CampaignVariant, EmailTemplate, Segment

RESOURCE, WHAT = "campaign", "campaign"
SORTABLE = ("created_at", "updated_at", "name", "starts_on")
FLOW = {"draft": {"scheduled", "cancelled"}, "scheduled": {"draft", "sending", "cancelled"},
        "sending": {"sent", "cancelled"}, "sent": set(), "cancelled": set()}
BY_THE_SEND = {"scheduled", "sending", "sent"}  # an email campaign's statuses that only its send sets
LOCKED = {"sending", "sent"}  # what such a campaign still takes: its cost (and a sending one, a cancel)
AB_DEFAULTS = {"ab_metric": "opens", "ab_test_share": 20, "ab_wait_minutes": 240}
LABELS = "ABCDE"
FIELDS = ("name", "type", "budget", "actual_cost", "expected_revenue", "currency", "starts_on", "ends_on",
          "segment_ids", "template_id", "from_name", "from_email", "reply_to", "ab_metric", "ab_test_share",
          "ab_wait_minutes", "topic")


def _load(ctx, record_id: str, action: str) -> Campaign:
    campaign = ctx.session.get(Campaign, record_id)
    if campaign is None or campaign.deleted_at is not None:
        raise not_found(WHAT)
    return scope.require(ctx.caller, RESOURCE, action, campaign, WHAT)


def variants_of(session, campaign_id: str) -> list[CampaignVariant]:
    return list(session.execute(select(CampaignVariant).where(CampaignVariant.campaign_id == campaign_id)
                                .order_by(CampaignVariant.label)).scalars())


def _shown(session, campaign: Campaign) -> Campaign:
    campaign.variants = variants_of(session, campaign.id)  # what the contract's output dumps
    return campaign


def create(ctx, data: dict) -> Campaign:
    if data["type"] == "email" and data["status"] != "draft":
        raise validation({"status": ["an email campaign starts as a draft: its send schedules and sends it"]})
    _check(ctx.session, data, data)
    campaign = Campaign(status=data["status"], owner_id=ctx.caller.user_id,
                        **{name: data.get(name) for name in FIELDS if name in data})
    if data.get("variants"):
        for name, value in AB_DEFAULTS.items():
            if getattr(campaign, name) is None:
                setattr(campaign, name, value)
    ctx.session.add(campaign)
    ctx.session.flush()
    _replace_variants(ctx.session, campaign, data.get("variants") or [])
    ctx.emit(c.CAMPAIGN_CREATED, _event(campaign))
    return _shown(ctx.session, campaign)


def get(ctx, record_id: str) -> Campaign:
    return _shown(ctx.session, _load(ctx, record_id, "read"))


def page(ctx, query: dict) -> dict:
    select_ = scope.visible(select(Campaign).where(Campaign.deleted_at.is_(None)), ctx.caller, RESOURCE, "read",
                            Campaign)
    for name in ("type", "status"):
        if query.get(name):
            select_ = select_.where(getattr(Campaign, name) == query[name])
    text = (query.get("q") or "").strip().lower()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        select_ = select_.where(or_(Campaign.name.ilike(pattern, escape="\\")))
    rows, cursor = paging.paginate(ctx.session, select_, Campaign, sort=query.get("sort") or "-created_at",
                                   limit=query.get("limit") or 50, cursor=query.get("cursor"), sortable=SORTABLE)
    variants: dict[str, list] = {row.id: [] for row in rows}  # one query for the page's variants
    if rows:
        for variant in ctx.session.execute(select(CampaignVariant).where(
                CampaignVariant.campaign_id.in_(list(variants))).order_by(CampaignVariant.label)).scalars():
            variants[variant.campaign_id].append(variant)
    for row in rows:
        row.variants = variants[row.id]
    return {"items": rows, "next_cursor": cursor}


def update(ctx, record_id: str, data: dict, expected_version: int | None = None) -> Campaign:
    campaign = _load(ctx, record_id, "update")
    check_version(campaign, expected_version)
    current = _current(ctx.session, campaign)
    asked = [name for name, value in data.items() if current.get(name) != value]
    if campaign.status in LOCKED:
        allowed = {"actual_cost"} | ({"status"} if campaign.status == "sending" else set())
        refused = [name for name in asked if name not in allowed]
        moves = {None, campaign.status, "cancelled"} | ({"sent"} if campaign.type != "email" else set())
        if refused or data.get("status") not in moves:
            raise conflict(f"the campaign is {campaign.status}: only its actual_cost can change "
                           f"(asked: {', '.join(refused or ['status'])})", campaign_status=campaign.status)
    merged = {**current, **data}
    _check(ctx.session, merged, data)
    if "status" in data and data["status"] != campaign.status:
        _allowed_move(campaign, data["status"], by_send=False)
    changed = [name for name in asked if name in FIELDS or name == "status"]
    for name in changed:
        setattr(campaign, name, data[name])
    if "variants" in asked:
        _replace_variants(ctx.session, campaign, data["variants"])
        changed.append("variants")
        if data["variants"]:
            for name, value in AB_DEFAULTS.items():
                if getattr(campaign, name) is None:
                    setattr(campaign, name, value)
    if changed:
        campaign.updated_at = utcnow()  # a change of the variants alone bumps the version too
        ctx.session.flush()
        ctx.emit(c.CAMPAIGN_UPDATED, _event(campaign, changed))
    return _shown(ctx.session, campaign)


def delete(ctx, record_id: str, expected_version: int | None = None) -> None:
    campaign = _load(ctx, record_id, "delete")
    check_version(campaign, expected_version)
    if campaign.status == "sending":
        raise conflict("the campaign is sending: cancel it first", campaign_status=campaign.status)
    campaign.deleted_at = utcnow()
    ctx.session.flush()
    ctx.emit(c.CAMPAIGN_DELETED, _event(campaign))


def move(ctx, campaign: Campaign, status: str) -> Campaign:
    """Move a campaign along its flow as its send does (scheduled, sending, sent, cancelled): 409 when the
    flow does not allow it. Emits campaign_updated."""
    if status == campaign.status:
        return campaign
    _allowed_move(campaign, status, by_send=True)
    campaign.status = status
    if status == "sent" and campaign.sent_at is None:
        campaign.sent_at = utcnow()
    ctx.session.flush()
    ctx.emit(c.CAMPAIGN_UPDATED, _event(campaign, ["status"]))
    return campaign


def ready_to_send(campaign: Campaign) -> list[str]:
    """What keeps an email campaign from being sent (empty: it can be): its type and status, its audience,
    its template or variants, which must still exist."""
    session = object_session(campaign)
    problems = []
    if campaign.deleted_at is not None:
        problems.append("the campaign is deleted")
    if campaign.type != "email":
        problems.append(f"only an email campaign is sent (this one is {campaign.type})")
    if campaign.status not in ("draft", "scheduled"):
        problems.append(f"the campaign is {campaign.status}: only a draft or a scheduled campaign is sent")
    if not campaign.segment_ids:
        problems.append("the campaign has no segments to send to")
    elif session is not None:
        missing = _missing(session, Segment, campaign.segment_ids)
        if missing:
            problems.append(f"segments no longer exist: {', '.join(missing)}")
    variants = variants_of(session, campaign.id) if session is not None else []
    templates = [variant.template_id for variant in variants] or ([campaign.template_id] if campaign.template_id
                                                                   else [])
    if not templates:
        problems.append("the campaign has no template (or variants) to send")
    elif session is not None:
        missing = _missing(session, EmailTemplate, templates)
        if missing:
            problems.append(f"templates no longer exist: {', '.join(missing)}")
    return problems


# -- rules ------------------------------------------------------------------------------------------

def _allowed_move(campaign: Campaign, status: str, by_send: bool) -> None:
    if status not in FLOW[campaign.status]:
        raise conflict(f"a {campaign.status} campaign cannot become {status} (the flow is draft -> scheduled -> "
                       "sending -> sent, or cancelled from any status but sent)", campaign_status=campaign.status)
    if campaign.type == "email" and not by_send and status in BY_THE_SEND:
        raise conflict(f"an email campaign becomes {status} by its send (POST /api/v1/campaigns/{{id}}/send)",
                       campaign_status=campaign.status)


def _check(session, merged: dict, sent: dict) -> None:
    """422 for references that do not exist, dates out of order, variants that do not add up."""
    errors: dict[str, list[str]] = {}
    if merged.get("starts_on") and merged.get("ends_on") and merged["ends_on"] < merged["starts_on"]:
        errors["ends_on"] = ["must be on or after starts_on"]
    if "segment_ids" in sent:
        if len(set(sent["segment_ids"])) != len(sent["segment_ids"]):
            errors["segment_ids"] = ["names a segment twice"]
        missing = _missing(session, Segment, sent["segment_ids"])
        if missing:
            errors.setdefault("segment_ids", []).append(f"no such segment: {', '.join(missing)}")
    if sent.get("template_id") and _missing(session, EmailTemplate, [sent["template_id"]]):
        errors["template_id"] = [f"no such email template: {sent['template_id']}"]
    variants = sent.get("variants") or []
    if variants:
        if len(variants) < 2:
            errors["variants"] = ["an A/B test needs 2 to 5 variants (or none)"]
        elif sum(variant["share"] for variant in variants) != 100:
            errors["variants"] = [f"the shares add up to {sum(v['share'] for v in variants)}, not 100"]
        missing = _missing(session, EmailTemplate, [variant["template_id"] for variant in variants])
        if missing:
            errors.setdefault("variants", []).append(f"no such email template: {', '.join(missing)}")
    if merged.get("template_id") and merged.get("variants"):
        errors.setdefault("template_id", []).append(
            "a campaign has either a template or variants: send template_id null with the variants")
    if errors:
        raise validation(errors)


def _missing(session, model, ids) -> list[str]:
    ids = [value for value in dict.fromkeys(ids) if value]
    if not ids:
        return []
    found = set(session.execute(select(model.id).where(model.id.in_(ids), model.deleted_at.is_(None))).scalars())
    return [value for value in ids if value not in found]


def _current(session, campaign: Campaign) -> dict:
    values = {name: getattr(campaign, name) for name in FIELDS + ("status",)}
    values["variants"] = [{"template_id": v.template_id, "share": v.share} for v in variants_of(session, campaign.id)]
    return values


def _replace_variants(session, campaign: Campaign, variants: list[dict]) -> None:
    session.execute(sql_delete(CampaignVariant).where(CampaignVariant.campaign_id == campaign.id))
    for label, variant in zip(LABELS, variants):
        session.add(CampaignVariant(campaign_id=campaign.id, label=label, template_id=variant["template_id"],
                                    share=variant["share"], is_winner=False))
    session.flush()


def _event(campaign: Campaign, changed: list[str] | None = None) -> dict:
    data = {"id": campaign.id, "name": campaign.name, "type": campaign.type, "status": campaign.status,
            "actual_cost": None if campaign.actual_cost is None else str(campaign.actual_cost),
            "currency": campaign.currency}
    if changed is not None:
        data["changed_fields"] = changed
    return data
