"""A territory's members are announced to identity (their territory scope): on creation, and whenever
member_ids changes, with the territory's version so that older news loses."""
from __future__ import annotations

from crm_common.context import Actor
from crm_common.permissions import BUILTIN_ROLES
import crm_sales_contracts as c
from crm_sales.domain import territories

MANAGER = Actor(user_id="m1", roles=("sales_manager",), team_id="team-1", perms=BUILTIN_ROLES["sales_manager"])


def test_members_are_announced_on_create_and_when_they_change_only(session, events, ctx):
    territory = territories.create(ctx(MANAGER), {"name": "North", "countries": ["NO"], "member_ids": ["u2", "u1"]})
    territories.update(ctx(MANAGER), territory.id, {"countries": ["NO", "SE"]})
    territories.update(ctx(MANAGER), territory.id, {"member_ids": ["u3", "u1", "u3"]})
    assert events.of(c.TERRITORY_MEMBERS_CHANGED) == [
        {"id": territory.id, "member_ids": ["u1", "u2"], "version": 1},
        {"id": territory.id, "member_ids": ["u1", "u3"], "version": 3},
    ]
