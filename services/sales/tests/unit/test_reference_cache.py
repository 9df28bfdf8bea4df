"""A lead create reads custom field definitions, territories and assignment rules through the process's cache
(crm_common.generations): each change is seen by the next create, with no restart, and an unchanged
generation is not read again. Each step is its own transaction, as each RPC is."""
from __future__ import annotations

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from crm_common import generations
from crm_common.entrypoint import Context
from crm_common.errors import ServiceError
from crm_common.testing.events import Events
from crm_sales.domain import custom, leads, territories
from crm_sales.models import Base, Lead

create_lead = custom.creating("lead", Lead, leads.create)  # as the service wires it


@pytest.fixture
def cached(engine, team):
    """The token row the migration inserts (without it nothing is cached)."""
    with engine.begin() as conn:
        conn.execute(insert(Base.metadata.tables[generations.TABLE]), [{"key": generations.KEY, "token": "t0"}])
    return engine


def step(engine, fn, who):
    """`fn(ctx)` in a transaction of its own, committed."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        return fn(Context(session, who, Events(), None))


def lead(engine, who, n, **fields):
    return step(engine, lambda ctx: create_lead(ctx, {"last_name": f"L{n}", "email": f"l{n}@x.example",
                                                      "source": "api", **fields}), who)


def test_a_new_territory_and_rule_are_seen_by_the_next_create(cached, team):
    marketer, admin = team["marketer"], team["admin"]
    first = lead(cached, marketer, 1, country="GB")
    assert first.territory_id is None and first.owner_id == "mk"  # no rule, no territory: the creator
    uk = step(cached, lambda ctx: territories.create(ctx, {"name": "UK", "countries": ["GB"],
                                                           "member_ids": ["r1"]}), admin)
    second = lead(cached, marketer, 2, country="GB")
    assert (second.territory_id, second.owner_id, second.assignment_rule) == (uk.id, "r1", "territory")
    step(cached, lambda ctx: territories.create_rule(ctx, {
        "name": "web", "priority": 1, "strategy": "round_robin", "team_id": "t1", "countries": ["GB"],
        "industries": [], "source": None, "active": True}), admin)
    owners = [lead(cached, marketer, n, country="GB").owner_id for n in range(3, 6)]
    assert owners == ["m1", "r1", "r2"]  # round robin: each create reads the rule's last user as committed


def test_a_territory_changed_is_seen_by_the_next_create(cached, team):
    admin = team["admin"]
    uk = step(cached, lambda ctx: territories.create(ctx, {"name": "UK", "countries": ["GB"]}), admin)
    assert lead(cached, admin, 1, country="IE").territory_id is None
    step(cached, lambda ctx: territories.update(ctx, uk.id, {"countries": ["GB", "IE"]}), admin)
    assert lead(cached, admin, 2, country="IE").territory_id == uk.id


def test_a_new_required_custom_field_is_seen_by_the_next_create(cached, team):
    admin = team["admin"]
    lead(cached, admin, 1)
    step(cached, lambda ctx: custom.definitions.create(ctx, {
        "resource": "lead", "name": "budget", "label": "Budget", "type": "number", "required": True,
        "default": None, "unique": False, "choices": []}), admin)
    with pytest.raises(ServiceError) as refused:
        lead(cached, admin, 2)
    assert refused.value.errors == {"custom_fields.budget": ["required"]}
    assert lead(cached, admin, 3, custom_fields={"budget": 5}).custom_fields == {"budget": 5}
    field_id = step(cached, lambda ctx: custom.definitions.list(ctx, {"resource": "lead"}), admin)["items"][0]["id"]
    step(cached, lambda ctx: custom.definitions.delete(ctx, field_id), admin)
    assert lead(cached, admin, 4).custom_fields == {}


def test_an_unchanged_generation_is_not_read_again(cached, team, monkeypatch):
    admin = team["admin"]
    lead(cached, admin, 1, country="GB")
    loads = []
    real = generations.cached

    def counting(session, metadata, name, load):
        return real(session, metadata, name, lambda: loads.append(name) or load())
    monkeypatch.setattr(generations, "cached", counting)
    lead(cached, admin, 2, country="GB")
    assert loads == []
    step(cached, lambda ctx: territories.create(ctx, {"name": "UK", "countries": ["GB"]}), admin)
    lead(cached, admin, 3, country="GB")
    assert sorted(loads) == ["assignment_rules", "custom_field_definitions:lead", "territories"]
