"""Lead scoring: the rules (`/api/v1/scoring-rules`), each lead's score with its explanation
(`lead_scores`), and the score sent to sales (`marketing.score_changed.v1`, which sales applies to
`lead.score`). What a rule means is in score_rules.

When a lead is rescored:
- `rescore(ctx, member_id)` at once, by whoever changed the lead's audience member or recorded its
  activity in the same transaction (the handler of sales' lead events calls it after the upsert);
- the timer (`sweep`, every CRM_SCORING_INTERVAL seconds, 60 by default) as well, in batches: leads never
  scored, leads whose audience member changed or who did something a rule counts since their score was
  computed (activity of the last two days), every lead once a rule changed, and every lead once a day (decay
  lowers behaviour points as days pass).

What reaches sales: a lead no rule ever gave points keeps the score it has in sales (set by hand or
imported) and nothing is sent; once a rule gives it points, marketing's score is the lead's, and every
change is sent (back to 0 when no rule applies any more).
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, exists, func, or_, select

import crm_marketing_contracts as c
from crm_common import paging, scope
from crm_common.db import utcnow
from crm_common.errors import ServiceError, not_found, validation
from crm_common.versioning import check_version
from crm_marketing.domain import score_rules
from crm_marketing.models import AudienceActivity, AudienceMember, LeadScore, ScoringRule

RESOURCE, WHAT = "scoring_rule", "scoring rule"
REFRESH = timedelta(days=1)  # every score is computed again at least this often (decay)
RECENT = timedelta(days=2)  # activity newer than its lead's score is looked for this far back
BEHAVIOUR_ONLY = ("decay_days", "max_occurrences")
EDITABLE = ("name", "condition", "points", "decay_days", "max_occurrences", "active")


# -- rules ----------------------------------------------------------------------------------------------

def _load(ctx, record_id: str, action: str) -> ScoringRule:
    rule = ctx.session.get(ScoringRule, record_id)
    if rule is None or rule.deleted_at is not None:
        raise not_found(WHAT)
    return scope.require(ctx.caller, RESOURCE, action, rule, WHAT)


def _check(kind: str, data: dict) -> None:
    if kind == "attribute":
        given = [name for name in BEHAVIOUR_ONLY if data.get(name) is not None]
        if given:
            raise validation({name: ["applies to behaviour rules only"] for name in given})
    if "condition" in data:
        score_rules.check(kind, data["condition"])


def create(ctx, data: dict) -> ScoringRule:
    _check(data["kind"], data)
    rule = ScoringRule(name=data["name"], kind=data["kind"], condition=data["condition"], points=data["points"],
                       decay_days=data.get("decay_days"), max_occurrences=data.get("max_occurrences"),
                       active=data["active"], created_by=ctx.caller.user_id)
    ctx.session.add(rule)
    ctx.session.flush()
    ctx.emit(c.SCORING_RULE_CREATED, {"id": rule.id, "kind": rule.kind, "changed_fields": []})
    return rule


def get(ctx, record_id: str) -> ScoringRule:
    return _load(ctx, record_id, "read")


def page(ctx, query: dict) -> dict:
    select_ = scope.visible(select(ScoringRule).where(ScoringRule.deleted_at.is_(None)),
                            ctx.caller, RESOURCE, "read", ScoringRule)
    if query.get("kind"):
        select_ = select_.where(ScoringRule.kind == query["kind"])
    if query.get("active") is not None:
        select_ = select_.where(ScoringRule.active.is_(query["active"]))
    text = (query.get("q") or "").strip().lower()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        select_ = select_.where(ScoringRule.name.ilike(pattern, escape="\\"))
    rows, cursor = paging.paginate(ctx.session, select_, ScoringRule, sort=query.get("sort") or "-created_at",
                                   limit=query.get("limit") or 50, cursor=query.get("cursor"),
                                   sortable=c.ScoringRuleQuery.SORTABLE)
    return {"items": rows, "next_cursor": cursor}


def update(ctx, record_id: str, data: dict, expected_version: int | None = None) -> ScoringRule:
    rule = _load(ctx, record_id, "update")
    check_version(rule, expected_version)
    _check(rule.kind, data)
    changed = [name for name in EDITABLE if name in data and data[name] != getattr(rule, name)]
    for name in changed:
        setattr(rule, name, data[name])
    if changed:
        ctx.session.flush()
        ctx.emit(c.SCORING_RULE_UPDATED, {"id": rule.id, "kind": rule.kind, "changed_fields": changed})
    return rule


def delete(ctx, record_id: str, expected_version: int | None = None) -> None:
    rule = _load(ctx, record_id, "delete")
    check_version(rule, expected_version)
    rule.deleted_at, rule.active = utcnow(), False
    ctx.session.flush()
    ctx.emit(c.SCORING_RULE_DELETED, {"id": rule.id, "kind": rule.kind, "changed_fields": []})


def active_rules(session) -> list[ScoringRule]:
    return list(session.execute(select(ScoringRule).where(ScoringRule.deleted_at.is_(None),
                                                          ScoringRule.active.is_(True))
                                .order_by(ScoringRule.created_at, ScoringRule.id)).scalars())


# -- scores ---------------------------------------------------------------------------------------------

def _occurrences(session, member: AudienceMember, kinds: set) -> list[score_rules.Occurrence]:
    """The member's activity of the kinds the rules count: recorded for them, or for their address before
    they were known (a form submitted before sales created the lead)."""
    if not kinds:
        return []
    mine = AudienceActivity.member_id == member.id
    if member.email_hash:
        mine = or_(mine, and_(AudienceActivity.member_id.is_(None), AudienceActivity.email_hash == member.email_hash))
    rows = session.execute(select(AudienceActivity.kind, AudienceActivity.ref_id, AudienceActivity.detail,
                                  AudienceActivity.occurred_at)
                           .where(mine, AudienceActivity.kind.in_(sorted(kinds)))).all()
    return [score_rules.Occurrence(kind, ref_id, detail or {}, occurred_at)
            for kind, ref_id, detail, occurred_at in rows]


def rescore(ctx, member_id: str, rules: list[ScoringRule] | None = None) -> LeadScore | None:
    """Compute a lead's score now, store it with its explanation, and send it to sales when it changed
    (see the module doc). None for a member that is no live lead. `rules`: the active rules, when the
    caller already has them."""
    session = ctx.session
    member = session.get(AudienceMember, member_id)
    if member is None or member.kind != "lead" or member.deleted_at is not None:
        return None
    rules = active_rules(session) if rules is None else rules
    now = utcnow()
    kinds = {rule.condition["behaviour"] for rule in rules if rule.kind == "behaviour"}
    score, points = score_rules.explain(rules, score_rules.attributes_of(member),
                                        _occurrences(session, member, kinds), now)
    row = session.execute(select(LeadScore).where(LeadScore.member_id == member.id)).scalar_one_or_none()
    if row is None:
        row = LeadScore(member_id=member.id, lead_id=member.source_id, sent_score=None)
        session.add(row)
    row.lead_id, row.score, row.points = member.source_id, score, points
    if (points or row.sent_score is not None) and score != row.sent_score:
        ctx.emit(c.SCORE_CHANGED, {"lead_id": member.source_id, "score": score, "previous": row.sent_score})
        row.sent_score = member.score = score
        session.flush()
    row.computed_at = utcnow()  # after the member's own update time: not found stale by the sweep
    session.flush()
    return row


def lead_score(ctx, lead_id: str) -> dict:
    """A lead's score with its explanation (GET /leads/{id}/score)."""
    row = ctx.session.execute(select(LeadScore).where(LeadScore.lead_id == lead_id)
                              .order_by(LeadScore.computed_at.desc()).limit(1)).scalar_one_or_none()
    if row is None:
        raise ServiceError("not_found", "this lead has no score yet (marketing has not seen it)")
    return {"lead_id": row.lead_id, "score": row.score, "computed_at": row.computed_at, "points": row.points,
            "sent_to_sales": row.sent_score is not None}


def stale_members(session, limit: int, now=None) -> list[str]:
    """Up to `limit` lead members whose score is missing or out of date (see the module doc)."""
    now = now or utcnow()
    rules = active_rules(session)
    last_change = session.execute(select(func.max(ScoringRule.updated_at))).scalar()
    cutoff = max(now - REFRESH, last_change) if last_change is not None else now - REFRESH
    lead = and_(AudienceMember.kind == "lead", AudienceMember.deleted_at.is_(None))
    found: list[str] = []

    def take(query) -> None:
        if len(found) < limit:
            found.extend(mid for mid in session.execute(query.limit(limit - len(found))).scalars() if mid not in found)

    scored = select(AudienceMember.id).join(LeadScore, LeadScore.member_id == AudienceMember.id).where(lead)
    # once scored with points, a lead is kept up to date even when no rule is left (its score goes to 0)
    sent = LeadScore.sent_score.is_not(None)
    if rules:
        take(select(AudienceMember.id).where(lead, ~exists().where(LeadScore.member_id == AudienceMember.id)))
    outdated = scored.where(LeadScore.computed_at < cutoff)
    take((outdated if rules else outdated.where(sent)).order_by(LeadScore.computed_at))
    if rules:
        take(scored.where(AudienceMember.updated_at > LeadScore.computed_at))
        kinds = sorted({rule.condition["behaviour"] for rule in rules if rule.kind == "behaviour"})
        if kinds:
            take(scored.where(exists().where(
                AudienceActivity.member_id == AudienceMember.id, AudienceActivity.kind.in_(kinds),
                AudienceActivity.occurred_at > now - RECENT, AudienceActivity.occurred_at > LeadScore.computed_at)))
    return found[:limit]


SWEEP_BATCH = 500


def sweep(ctx, limit: int = SWEEP_BATCH) -> int:
    """Rescore one batch of stale leads (the timer runs batches until one is not full); how many."""
    members = stale_members(ctx.session, limit)
    rules = active_rules(ctx.session)
    for member_id in members:
        rescore(ctx, member_id, rules)
    return len(members)


# -- privacy: a score is profiling, so an export shows it and an erasure removes it ---------------------

def _of_person(session, address: str) -> list[LeadScore]:
    from crm_marketing.domain.suppressions import email_hash
    members = select(AudienceMember.id).where(AudienceMember.email_hash == email_hash(address))
    return list(session.execute(select(LeadScore).where(LeadScore.member_id.in_(members))).scalars())


def export(ctx, address: str) -> tuple[dict, dict]:
    rows = _of_person(ctx.session, c.normalise_email_leniently(address))
    data = [c.LeadScore().dump({"lead_id": row.lead_id, "score": row.score, "computed_at": row.computed_at,
                                "points": row.points, "sent_to_sales": row.sent_score is not None}) for row in rows]
    return ({"lead_scores": data}, {"lead_scores": len(data)}) if data else ({}, {})  # named only when held


def erase(ctx, address: str) -> dict:
    """The address's scores, and any score whose member is gone (erased by the audience part first)."""
    rows = _of_person(ctx.session, c.normalise_email_leniently(address))
    rows += ctx.session.execute(select(LeadScore).where(
        ~exists().where(AudienceMember.id == LeadScore.member_id))).scalars().all()
    for row in rows:
        ctx.session.delete(row)
    ctx.session.flush()
    return {"lead_scores": len(rows)} if rows else {}
