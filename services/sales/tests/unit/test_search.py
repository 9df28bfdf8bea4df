"""Search of the sales records: exact > prefix > contains, over the caller's scope, limited. On SQLite and on
PostgreSQL migrated to head (its tiers and indexes differ: crm_common.search)."""
from __future__ import annotations

import os

import pytest
from marshmallow import ValidationError

import crm_sales_contracts as c
from crm_common import search as kernel
from crm_common.testing.checks import database_at
from crm_common.testing.harness import database_engine
from crm_sales.domain import accounts, leads, opportunities, search
from crm_sales.models import Base

BACKENDS = [b for b in os.environ.get("CRM_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path):
    if request.param == "sqlite":
        with database_engine("sqlite", "sales", Base.metadata, tmp_path) as engine:
            yield engine
        return
    with database_at("sales", "head", "postgresql", tmp_path) as (engine, _):  # the search indexes: migrations
        yield engine


def lead(ctx, who, **fields):
    data = {"first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines", "country": "GB",
            **fields}
    return leads.create(ctx(who), data)


def found(ctx, who, q, **query):
    return search.search(ctx(who), {"q": q, **query})["items"]


def test_rank_is_exact_then_prefix_then_contains():
    assert kernel.rank(["Bolt"], "bolt") == kernel.EXACT
    assert kernel.rank(["Boltworks"], "bolt") == kernel.PREFIX
    assert kernel.rank(["Thunderbolt"], "BOLT") == kernel.CONTAINS
    assert kernel.rank(["Thunder", None], "bolt") == 0


def test_exact_before_prefix_before_contains_across_types(ctx, team):
    accounts.create(ctx(team["r1"]), {"name": "Thunderbolt Ltd"})
    accounts.create(ctx(team["r1"]), {"name": "Bolt"})
    lead(ctx, team["r1"], last_name="Boltzmann", email="ludwig@example.org")
    hits = found(ctx, team["r1"], "bolt")
    assert [(h["type"], h["title"], h["score"]) for h in hits] == [
        ("account", "Bolt", 3), ("lead", "Ada Boltzmann", 2), ("account", "Thunderbolt Ltd", 1)]


def test_a_rep_finds_their_own_records_only(ctx, team):
    mine = lead(ctx, team["r1"], last_name="Quixote", email="q1@example.org")
    lead(ctx, team["r2"], last_name="Quixotic", email="q2@example.org")
    assert [h["id"] for h in found(ctx, team["r1"], "quix")] == [mine.id]
    # the manager of the team sees both; a rep of another team neither
    assert len(found(ctx, team["m1"], "quix")) == 2
    assert found(ctx, team["r3"], "quix") == []


def test_email_phone_types_and_limit(ctx, team):
    first = lead(ctx, team["r1"], last_name="Curie", email="marie@radium.example", phone="+33123456789")
    opportunities.create(ctx(team["r1"]), {"name": "Radium deal", "amount": "10.00", "currency": "EUR"})
    assert [h["id"] for h in found(ctx, team["r1"], "+3312345")] == [first.id]
    assert {h["type"] for h in found(ctx, team["r1"], "radium")} == {"lead", "opportunity"}
    assert {h["type"] for h in found(ctx, team["r1"], "radium", types="opportunity")} == {"opportunity"}
    assert len(found(ctx, team["r1"], "radium", limit=1)) == 1


def test_like_wildcards_are_taken_literally(ctx, team):
    accounts.create(ctx(team["r1"]), {"name": "Acme"})
    assert found(ctx, team["r1"], "%%") == []


def test_the_query_is_validated():
    schema = c.SalesSearchQuery()
    with pytest.raises(ValidationError) as short:
        schema.load({"q": " a "})
    assert "q" in short.value.messages
    with pytest.raises(ValidationError) as unknown:
        schema.load({"q": "ab", "types": "lead,ticket"})
    assert "types" in unknown.value.messages
    assert schema.load({"q": "ab", "types": "lead,account"})["limit"] == 20


def test_past_the_candidates_a_broad_text_still_finds_every_exact_match_first(ctx, team, monkeypatch):
    monkeypatch.setattr(kernel, "CANDIDATES", 5)  # over a million records: 500
    for i in range(8):
        accounts.create(ctx(team["r1"]), {"name": f"Big Acme {i}"})
    exact = accounts.create(ctx(team["r1"]), {"name": "ACME"})
    hits = found(ctx, team["r1"], "acme", types="account", limit=5)
    # every exact match first, then the best of the candidates considered, each once and scored as it matches
    assert (hits[0]["id"], hits[0]["score"]) == (exact.id, kernel.EXACT)
    assert len({h["id"] for h in hits}) == 5 and [h["score"] for h in hits[1:]] == [kernel.CONTAINS] * 4
    titles = [h["title"] for h in hits[1:]]
    assert titles == sorted(titles)
    # as many matches as the candidates or fewer: ranked over all of them
    monkeypatch.setattr(kernel, "CANDIDATES", 9)
    assert [h["title"] for h in found(ctx, team["r1"], "acme", types="account", limit=3)] == [
        "ACME", "Big Acme 0", "Big Acme 1"]


def test_a_broad_prefix_gives_its_first_completions_and_contains_only_fill_what_is_left(ctx, team, monkeypatch):
    monkeypatch.setattr(kernel, "CANDIDATES", 3)  # over a million records: 500 of each column
    for name in ("Acme 6", "Acme 2", "Acme 5", "Acme 1", "Acme 4", "Acme 3", "Big Acme", "Acme"):
        accounts.create(ctx(team["r1"]), {"name": name})
    # the exact match, then the first prefix matches in order: the contains-only one cannot outrank them
    assert [(h["title"], h["score"]) for h in found(ctx, team["r1"], "acme", types="account", limit=4)] == [
        ("Acme", 3), ("Acme 1", 2), ("Acme 2", 2), ("Acme 3", 2)]
    # fewer than the limit found so far: the rows that only contain the text follow the prefix matches
    hits = found(ctx, team["r1"], "ACME", types="account", limit=10)
    assert [h["title"] for h in hits[:4]] == ["Acme", "Acme 1", "Acme 2", "Acme 3"]
    assert (hits[-1]["title"], hits[-1]["score"]) == ("Big Acme", kernel.CONTAINS)
    # another rep of the same scope shape (the statement is reused) finds none of them
    assert found(ctx, team["r3"], "acme", types="account") == []
