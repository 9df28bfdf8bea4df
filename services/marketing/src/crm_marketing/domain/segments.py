"""Segments: named rule trees over the audience (domain.segment_rules), evaluated whenever they are read or
sent to -- never stored member lists, so a segment is always who matches now.

`member_count` is counted on every read of one segment (create, get, update) and of its members; a list
leaves it null unless asked (`counts=true`), since each count is a query over the whole audience.
`recipients(session, segment_ids)` is what a send uses at send time.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, false, func, or_, select

import crm_marketing_contracts as c
from crm_common import paging, scope
from crm_common.db import utcnow
from crm_common.errors import not_found
from crm_common.versioning import check_version
from crm_marketing.domain import segment_rules
from crm_marketing.models import AudienceMember, Segment

RESOURCE, WHAT = "segment", "segment"
FIELDS = ("name", "description", "rules")
LIVE_MEMBER = AudienceMember.deleted_at.is_(None)


def count_query(rules: dict, now: datetime | None = None):
    """The one query that counts the live members a (checked) rule tree matches now."""
    return select(func.count()).select_from(AudienceMember).where(LIVE_MEMBER, segment_rules.condition(rules, now))


def count(session, rules: dict, now: datetime | None = None) -> int:
    """How many live members a (checked) rule tree matches now."""
    return session.execute(count_query(rules, now)).scalar_one()


def members(session, rules: dict, now: datetime | None = None):
    """The select of the live members a (checked) rule tree matches now."""
    return select(AudienceMember).where(LIVE_MEMBER, segment_rules.condition(rules, now))


def recipients(session, segment_ids: list[str], now: datetime | None = None):
    """A select of the live members with an address in any of the live segments named (unknown or deleted ones
    count as empty), one per address (`email_hash`): a contact before a lead, then the latest updated."""
    rules = session.execute(select(Segment.rules).where(Segment.id.in_(list(segment_ids or [])),
                                                        Segment.deleted_at.is_(None))).scalars().all()
    now = now or utcnow()
    matched = or_(*[segment_rules.condition(tree, now) for tree in rules]) if rules else false()
    order = (case((AudienceMember.kind == "contact", 0), else_=1), AudienceMember.updated_at.desc(), AudienceMember.id)
    ranked = (select(AudienceMember.id.label("id"),
                     func.row_number().over(partition_by=AudienceMember.email_hash, order_by=order).label("rank"))
              .where(LIVE_MEMBER, AudienceMember.email_hash.is_not(None), matched).subquery())
    return select(AudienceMember).join(ranked, ranked.c.id == AudienceMember.id).where(ranked.c.rank == 1)


def _counted(session, segment: Segment) -> Segment:
    segment.member_count = count(session, segment.rules)
    return segment


def _load(ctx, record_id: str, action: str) -> Segment:
    segment = ctx.session.get(Segment, record_id)
    if segment is None or segment.deleted_at is not None:
        raise not_found(WHAT)
    return scope.require(ctx.caller, RESOURCE, action, segment, WHAT)


def create(ctx, data: dict) -> Segment:
    segment_rules.check(data["rules"])
    segment = Segment(name=data["name"], description=data.get("description"), rules=data["rules"],
                      owner_id=ctx.caller.user_id)
    ctx.session.add(segment)
    ctx.session.flush()
    ctx.emit(c.SEGMENT_CREATED, {"id": segment.id, "name": segment.name})
    return _counted(ctx.session, segment)


def get(ctx, record_id: str) -> Segment:
    return _counted(ctx.session, _load(ctx, record_id, "read"))


def update(ctx, record_id: str, data: dict, expected_version: int | None = None) -> Segment:
    segment = _load(ctx, record_id, "update")
    check_version(segment, expected_version)
    if "rules" in data:
        segment_rules.check(data["rules"])
    changed = [name for name in FIELDS if name in data and getattr(segment, name) != data[name]]
    for name in changed:
        setattr(segment, name, data[name])
    if changed:
        ctx.session.flush()
        ctx.emit(c.SEGMENT_UPDATED, {"id": segment.id, "name": segment.name, "changed_fields": changed})
    return _counted(ctx.session, segment)


def delete(ctx, record_id: str, expected_version: int | None = None) -> None:
    segment = _load(ctx, record_id, "delete")
    check_version(segment, expected_version)
    segment.deleted_at = utcnow()
    ctx.session.flush()
    ctx.emit(c.SEGMENT_DELETED, {"id": segment.id, "name": segment.name})


def page(ctx, query: dict) -> dict:
    select_ = scope.visible(select(Segment).where(Segment.deleted_at.is_(None)), ctx.caller, RESOURCE, "read", Segment)
    text = (query.get("q") or "").strip().lower()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        select_ = select_.where(or_(Segment.name.ilike(pattern, escape="\\"),
                                    Segment.description.ilike(pattern, escape="\\")))
    rows, cursor = paging.paginate(ctx.session, select_, Segment, sort=query.get("sort") or "-created_at",
                                   limit=query.get("limit") or 50, cursor=query.get("cursor"),
                                   sortable=("created_at", "name"))
    for segment in rows:
        segment.member_count = count(ctx.session, segment.rules) if query.get("counts") else None
    return {"items": rows, "next_cursor": cursor}


def list_members(ctx, record_id: str, query: dict) -> dict:
    """One page of the segment's live members now, oldest first, and how many there are in all."""
    segment = _load(ctx, record_id, "read")
    now = utcnow()
    limit = query.get("limit") or 50
    rows, cursor = paging.paginate(ctx.session, members(ctx.session, segment.rules, now), AudienceMember,
                                   sort=query.get("sort") or "created_at", limit=limit,
                                   cursor=query.get("cursor"), sortable=("created_at",))
    # a first page that is not full holds every member: its length is the count, from the same statement (a
    # second one, on PostgreSQL, sees a newer snapshot: a member who came in between was counted, not listed)
    whole = not query.get("cursor") and len(rows) < limit
    return {"items": rows, "next_cursor": cursor,
            "count": len(rows) if whole else count(ctx.session, segment.rules, now)}
