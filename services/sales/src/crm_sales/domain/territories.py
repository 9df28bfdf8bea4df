"""Territories (countries, industries, members) and lead assignment rules."""
from __future__ import annotations

from sqlalchemy import select

from crm_common.context import Actor
import crm_sales_contracts as c
from crm_common.errors import ServiceError
from crm_sales.domain import records
from crm_sales.models import AssignmentRule, Territory

SEARCH = (Territory.name,)


def create(session, actor: Actor, data: dict, emit) -> Territory:
    territory = Territory(name=data["name"], countries=sorted(set(data.get("countries") or [])),
                          industries=sorted(set(data.get("industries") or [])),
                          member_ids=sorted(set(data.get("member_ids") or [])),
                          owner_id=actor.user_id, team_id=actor.team_id)
    session.add(territory)
    session.flush()
    records.changed(emit, "territory", territory.id, "create")
    _announce_members(emit, territory)
    return territory


def update(session, actor: Actor, territory_id: str, data: dict, expected_version: int | None, emit) -> Territory:
    territory = records.load_for_update(session, actor, "territory", Territory, territory_id, expected_version)
    for name in ("countries", "industries", "member_ids"):
        if name in data:
            data[name] = sorted(set(data[name]))
    changed = records.apply(territory, data, ("name", "countries", "industries", "member_ids"))
    session.flush()
    records.changed(emit, "territory", territory.id, "update", changed)
    if "member_ids" in changed:
        _announce_members(emit, territory)
    return territory


def _announce_members(emit, territory: Territory) -> None:
    """Members are part of their territory scope, which identity resolves: tell it who they are now."""
    emit(c.TERRITORY_MEMBERS_CHANGED, {"id": territory.id, "member_ids": list(territory.member_ids or []),
                                       "version": territory.version})


def create_rule(session, actor: Actor, data: dict, emit) -> AssignmentRule:
    if data.get("territory_id") and session.get(Territory, data["territory_id"]) is None:
        raise ServiceError("validation_failed", "unknown territory", errors={"territory_id": ["no such territory"]})
    rule = AssignmentRule(**data)
    session.add(rule)
    session.flush()
    records.changed(emit, "assignment_rule", rule.id, "create")
    return rule


def rules(session) -> list[AssignmentRule]:
    return list(session.execute(select(AssignmentRule).where(AssignmentRule.deleted_at.is_(None))
                                .order_by(AssignmentRule.priority, AssignmentRule.created_at)).scalars())
