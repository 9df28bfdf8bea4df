"""Targets: quotas per user, team or territory and period."""
from __future__ import annotations

from decimal import Decimal

from crm_common import scope
from crm_common.context import Actor
from crm_common.errors import validation
from crm_sales.domain import records, users
from crm_sales.models import Target, Territory



def create_target(session, actor: Actor, data: dict, emit) -> Target:
    target = Target(period=data["period"], user_id=data.get("user_id"), team_id=data.get("team_id"),
                    territory_id=data.get("territory_id"), amount=Decimal(data["amount"]), currency=data["currency"])
    target.owner_id = target.user_id
    if target.user_id and not target.team_id:
        target.team_id = users.team_of(session, target.user_id)
    if target.territory_id and session.get(Territory, target.territory_id) is None:
        raise validation({"territory_id": ["no such territory"]})
    if not scope.allows(actor, "target", "create", target):
        raise validation({"user_id": ["you may set targets only for your own team"]})
    session.add(target)
    session.flush()
    records.changed(emit, "target", target.id, "create")
    return target


def update_target(session, actor: Actor, target_id: str, data: dict, expected_version, emit) -> Target:
    target = records.load_for_update(session, actor, "target", Target, target_id, expected_version)
    if "amount" in data:
        data["amount"] = Decimal(data["amount"])
    changed = records.apply(target, data, ("amount",))
    session.flush()
    records.changed(emit, "target", target.id, "update", changed)
    return target


def delete_target(session, actor: Actor, target_id: str, emit) -> None:
    records.delete(session, actor, "target", Target, target_id, emit)
