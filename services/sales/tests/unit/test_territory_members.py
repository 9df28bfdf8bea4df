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


def test_a_country_filter_pages_through_every_territory_that_lists_it_in_full_pages(session, ctx):
    for n in range(12):
        territories.create(ctx(MANAGER), {"name": f"T{n:02}", "countries": ["DE", "AT"] if n % 3 == 0 else ["FR"]})
    seen, cursor, sizes = [], None, []
    while True:
        found = territories.page(ctx(MANAGER), {"country": "AT", "sort": "name", "limit": 2, "cursor": cursor})
        sizes.append(len(found["items"]))
        seen += [t.name for t in found["items"]]
        cursor = found["next_cursor"]
        if cursor is None:
            break
    assert seen == ["T00", "T03", "T06", "T09"] and sizes == [2, 2]
    assert territories.page(ctx(MANAGER), {"country": "A", "limit": 50})["items"] == []  # no partial code match
