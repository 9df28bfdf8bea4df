"""The lead list read as plain rows, by a statement built once per shape and paged one scope condition at a
time, gives exactly the pages of the ORM query with one OR: every scope, sort, filter, search and cursor."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import crm_sales_contracts as c
from crm_common.context import Actor
from crm_common.db import new_id
from crm_sales.domain import leads, records
from crm_sales.models import Lead

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def scoped(scope: str, user_id="u1", team_id="t1", territory_ids=("z1",)) -> Actor:
    return Actor(user_id=user_id, roles=("custom",), team_id=team_id, territory_ids=territory_ids,
                 perms={"lead": {"read": scope}})


@pytest.fixture
def seeded(session):
    """30 leads: owned by u1 in and out of t1, by others in t1, unassigned in t1, in territory z1 or z2, in
    other teams, with shared creation times (the id breaks the tie) and deleted ones."""
    owners = ["u1", "u2", None, "u3", "u1"]
    teams = ["t1", "t1", "t1", "t2", "t2"]
    for i in range(30):
        session.add(Lead(id=new_id(), owner_id=owners[i % 5], team_id=teams[(i // 2) % 5],
                         territory_id=("z1", "z2", None)[i % 3], last_name=f"Name{i % 7}", company=f"Co {i % 4}",
                         email=f"l{i}@x.example", country=("DE", "GB")[i % 2], status=("new", "contacted")[i % 2],
                         score=(i * 7) % 40, source="api", created_at=T0 + timedelta(minutes=i // 3),
                         deleted_at=T0 if i % 11 == 10 else None))
    session.flush()


def walk(ctx, actor, args, plain: bool) -> list[str]:
    """Every page of 4 in turn; the ids in order."""
    ids, cursor = [], None
    while True:
        page = records.page(ctx(actor), "lead", Lead, {**args, "limit": 4, "cursor": cursor},
                            c.LeadFilters.SORTABLE, leads.SEARCH, plain=plain)
        ids += [row["id"] if plain else row.id for row in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


@pytest.mark.parametrize("scope", ["all", "team", "own", "territory", "none"])
@pytest.mark.parametrize("sort", ["-created_at", "created_at", "-score", "last_name", "status"])
def test_plain_pages_match_the_orm_pages(session, ctx, seeded, scope, sort):
    actor = scoped(scope)
    for args in ({"sort": sort}, {"sort": sort, "status": "new"}, {"sort": sort, "q": "name3"},
                 {"sort": sort, "country": "GB", "owner_id": "u1"}):
        expected = walk(ctx, actor, args, plain=False)
        assert walk(ctx, actor, args, plain=True) == expected, args
    if scope in ("all", "team"):
        assert walk(ctx, actor, {"sort": sort}, plain=True)  # not vacuous: the caller sees leads


def test_a_team_list_without_a_team_or_user_is_the_owners_or_nothing(session, ctx, seeded):
    for actor in (scoped("team", team_id=None), scoped("team", user_id=None), scoped("territory", territory_ids=())):
        assert walk(ctx, actor, {}, plain=True) == walk(ctx, actor, {}, plain=False)


def test_plain_items_dump_like_orm_records(session, ctx, seeded):
    from crm_common.rpc import dump_output
    orm = records.page(ctx(scoped("team")), "lead", Lead, {"limit": 10}, c.LeadFilters.SORTABLE)
    plain = records.page(ctx(scoped("team")), "lead", Lead, {"limit": 10}, c.LeadFilters.SORTABLE, plain=True)
    assert dump_output(c.LIST_LEADS, plain) == dump_output(c.LIST_LEADS, orm)
    assert len(plain["items"]) == 10 and plain["next_cursor"] == orm["next_cursor"]
