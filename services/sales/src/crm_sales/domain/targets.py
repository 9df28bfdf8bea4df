"""Targets: quotas per user, team or territory and period."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import crm_sales_contracts as c
from crm_common import scope
from crm_common.errors import validation
from crm_sales.domain import records, users
from crm_sales.models import Target, Territory

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

get = records.reader("target", Target)
page = records.lister("target", Target, c.TargetFilters.SORTABLE)
delete = records.deleter("target", Target)


def create(ctx: Context, data: dict) -> Target:
    """A quota of one user, team or territory for a period (a manager: for their own team's users)."""
    session = ctx.session
    target = Target(period=data["period"], user_id=data.get("user_id"), team_id=data.get("team_id"),
                    territory_id=data.get("territory_id"), amount=Decimal(data["amount"]), currency=data["currency"])
    target.owner_id = target.user_id
    if target.user_id and not target.team_id:
        target.team_id = users.team_of(session, target.user_id)
    if target.territory_id and session.get(Territory, target.territory_id) is None:
        raise validation({"territory_id": ["no such territory"]})
    if not scope.allows(ctx.caller, "target", "create", target):
        raise validation({"user_id": ["you may set targets only for your own team"]})
    session.add(target)
    session.flush()
    _announce(ctx, target, "create", [])
    return target


def update(ctx: Context, record_id: str, data: dict, expected_version: int | None = None) -> Target:
    target = records.load_for_update(ctx, "target", Target, record_id, expected_version)
    if "amount" in data:
        data["amount"] = Decimal(data["amount"])
    changed = records.apply(target, data, ("amount",))
    ctx.session.flush()
    if changed:
        _announce(ctx, target, "update", changed)
    return target


def _announce(ctx: Context, target: Target, action: str, changed: list) -> None:
    """`sales.target_set.v1`: the whole target (analytics' forecast reads it) and, for the audit trail, the names
    of the fields changed (as record_changed gives them)."""
    ctx.emit(c.TARGET_SET, {"id": target.id, "action": action, "changed_fields": list(dict.fromkeys(changed)),
                            "period": target.period, "user_id": target.user_id, "team_id": target.team_id,
                            "territory_id": target.territory_id, "amount": str(target.amount),
                            "currency": target.currency})
