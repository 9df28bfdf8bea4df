"""Territories (countries, industries, members) and lead assignment rules."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import String, cast, select

import crm_sales_contracts as c
from crm_common import generations
from crm_common.errors import ServiceError
from crm_sales.domain import records
from crm_sales.models import AssignmentRule, Base, Territory

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

SEARCH = (Territory.name,)
get = records.reader("territory", Territory)


def page(ctx: Context, query: dict) -> dict:
    """One page of territories; `country` keeps those that list it, in the query (so that pages stay full): a
    match on the stored list's JSON text, exact because the filter is two capital letters (TerritoryFilters)."""
    country = query.pop("country", None)
    statement = select(Territory)
    if country:
        statement = statement.where(cast(Territory.countries, String).like(f'%"{country}"%'))
    return records.page(ctx, "territory", Territory, query, c.TerritoryFilters.SORTABLE, SEARCH, query=statement)


def create(ctx: Context, data: dict) -> Territory:
    actor = ctx.caller
    territory = Territory(name=data["name"], countries=sorted(set(data.get("countries") or [])),
                          industries=sorted(set(data.get("industries") or [])),
                          member_ids=sorted(set(data.get("member_ids") or [])),
                          owner_id=actor.user_id, team_id=actor.team_id)
    ctx.session.add(territory)
    ctx.session.flush()
    generations.changed(ctx.session, Base.metadata)  # every process's assignment sees it at its next lead
    records.changed(ctx, "territory", territory.id, "create")
    _announce_members(ctx, territory)
    return territory


def update(ctx: Context, record_id: str, data: dict, expected_version: int | None = None) -> Territory:
    territory = records.load_for_update(ctx, "territory", Territory, record_id, expected_version)
    for name in ("countries", "industries", "member_ids"):
        if name in data:
            data[name] = sorted(set(data[name]))
    changed = records.apply(territory, data, ("name", "countries", "industries", "member_ids"))
    ctx.session.flush()
    if {"name", "countries", "industries"} & set(changed):
        generations.changed(ctx.session, Base.metadata)
    records.changed(ctx, "territory", territory.id, "update", changed)
    if "member_ids" in changed:
        _announce_members(ctx, territory)
    return territory


def _announce_members(ctx: Context, territory: Territory) -> None:
    """Members are part of their territory scope, which identity resolves: tell it who they are now."""
    ctx.emit(c.TERRITORY_MEMBERS_CHANGED, {"id": territory.id, "member_ids": list(territory.member_ids or []),
                                           "version": territory.version})


def create_rule(ctx: Context, data: dict) -> AssignmentRule:
    if data.get("territory_id") and ctx.session.get(Territory, data["territory_id"]) is None:
        raise ServiceError("validation_failed", "unknown territory", errors={"territory_id": ["no such territory"]})
    rule = AssignmentRule(**data)
    ctx.session.add(rule)
    ctx.session.flush()
    generations.changed(ctx.session, Base.metadata)
    records.changed(ctx, "assignment_rule", rule.id, "create")
    return rule


def rules(ctx: Context) -> list[AssignmentRule]:
    """The lead assignment rules, by priority."""
    return list(ctx.session.execute(select(AssignmentRule).where(AssignmentRule.deleted_at.is_(None))
                                    .order_by(AssignmentRule.priority, AssignmentRule.created_at)).scalars())
