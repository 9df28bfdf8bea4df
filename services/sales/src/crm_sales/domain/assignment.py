"""Who gets a lead: explicit owner, the creating rep, assignment rules, the territory, the team.

Rules (by priority) match a lead's country, industry and source and pick among a team's or a
territory's active members, round-robin or least-loaded (fewest open leads). Without a matching
rule, a lead in a territory goes to its least-loaded member. Reassignment (a user deactivated) uses
the same rules and then the previous owner's team. Territories and rules are read through the process's
cache (crm_common.generations): their writers move the generation token, so a new one is seen by the next lead.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import func, select

from crm_common import generations
from crm_sales.domain import users
from crm_sales.models import AssignmentRule, Base, Lead, Territory

OPEN_STATUSES = ("new", "contacted", "qualified")


@dataclass
class Choice:
    owner_id: str | None
    rule: str


def round_robin(candidates: list[str], last: str | None) -> str | None:
    if not candidates:
        return None
    later = [uid for uid in candidates if last is None or uid > last]
    return later[0] if later else candidates[0]


@dataclass(frozen=True)
class Area:
    """A live territory as assignment reads it (what the cache keeps; `id` is what a record stores)."""

    id: str
    name: str
    countries: tuple
    industries: tuple


@dataclass(frozen=True)
class Rule:
    """An active assignment rule as assignment reads it; a round-robin rule's last user is read from its row."""

    id: str
    name: str
    strategy: str
    team_id: str | None
    territory_id: str | None
    countries: tuple
    industries: tuple
    source: str | None


@functools.lru_cache(maxsize=None)
def _statements() -> dict:
    """Built once: a statement built per call works out its cache key again each time."""
    t, r = Territory.__table__, AssignmentRule.__table__
    return {"areas": select(t.c.id, t.c.name, t.c.countries, t.c.industries).where(t.c.deleted_at.is_(None))
            .order_by(t.c.name, t.c.id),
            "rules": select(r.c.id, r.c.name, r.c.strategy, r.c.team_id, r.c.territory_id, r.c.countries,
                            r.c.industries, r.c.source).where(r.c.active.is_(True), r.c.deleted_at.is_(None))
            .order_by(r.c.priority, r.c.created_at)}


def areas(session) -> tuple[Area, ...]:
    """The live territories, by name."""
    def load():
        return tuple(Area(row.id, row.name, tuple(row.countries or ()), tuple(row.industries or ()))
                     for row in session.execute(_statements()["areas"]))
    return generations.cached(session, Base.metadata, "territories", load)


def active_rules(session) -> tuple[Rule, ...]:
    """The active assignment rules, by priority."""
    def load():
        return tuple(Rule(row.id, row.name, row.strategy, row.team_id, row.territory_id, tuple(row.countries or ()),
                          tuple(row.industries or ()), row.source)
                     for row in session.execute(_statements()["rules"]))
    return generations.cached(session, Base.metadata, "assignment_rules", load)


def _matches(rule: Rule, lead) -> bool:
    if rule.countries and lead.country not in rule.countries:
        return False
    if rule.industries and lead.industry not in rule.industries:
        return False
    if rule.source and lead.source != rule.source:
        return False
    return True


class Assigner:
    """Chooses owners for one or many leads in a transaction; loads rules and pools once, counts in memory."""

    def __init__(self, session):
        self.session = session
        self._rules = None
        self._territories = None
        self._pools: dict[tuple, list[str]] = {}
        self._load: dict[str, int] = {}
        self._teams: dict[str, str | None] = {}

    def team_of(self, user_id: str | None, actor=None) -> str | None:
        """users.team_of, remembered for the rest of this transaction (imports ask once per row)."""
        if not user_id:
            return None
        if user_id not in self._teams:
            self._teams[user_id] = users.team_of(self.session, user_id, actor)
        return self._teams[user_id]

    @property
    def rules(self) -> tuple[Rule, ...]:
        if self._rules is None:
            self._rules = active_rules(self.session)
        return self._rules

    def territory_for(self, country: str | None, industry: str | None) -> Area | None:
        if self._territories is None:
            self._territories = areas(self.session)
        if not country and not industry:
            return None
        for territory in self._territories:
            countries, industries = territory.countries or [], territory.industries or []
            if countries and country not in countries:
                continue
            if industries and industry not in industries:
                continue
            if countries or industries:
                return territory
        return None

    def _pool(self, kind: str, key: str | None) -> list[str]:
        if (kind, key) not in self._pools:
            if kind == "territory":
                members = users.territory_members(self.session, self.session.get(Territory, key) if key else None)
            else:
                members = users.team_members(self.session, key)
            self._pools[(kind, key)] = members
            self._count([uid for uid in members if uid not in self._load])
        return self._pools[(kind, key)]

    def _count(self, user_ids: list[str]) -> None:
        if not user_ids:
            return
        self._load.update({uid: 0 for uid in user_ids})
        self.session.flush()
        rows = self.session.execute(select(Lead.owner_id, func.count()).where(
            Lead.owner_id.in_(user_ids), Lead.status.in_(OPEN_STATUSES), Lead.deleted_at.is_(None))
            .group_by(Lead.owner_id)).all()
        self._load.update({owner: n for owner, n in rows})

    def _least_loaded(self, candidates: list[str]) -> str:
        return min(candidates, key=lambda uid: (self._load[uid], uid))

    def _take(self, owner: str | None, rule: str) -> Choice:
        if owner is not None:
            self._load[owner] = self._load.get(owner, 0) + 1
        return Choice(owner, rule)

    def choose(self, lead, exclude: str | None = None, fallback_team: str | None = None) -> Choice:
        """The owner the rules give `lead` (never `exclude`)."""
        for rule in self.rules:
            if not _matches(rule, lead):
                continue
            pool = self._pool("territory", rule.territory_id) if rule.territory_id else self._pool("team", rule.team_id)
            candidates = [uid for uid in pool if uid != exclude]
            if not candidates:
                continue
            if rule.strategy == "round_robin":
                row = self.session.get(AssignmentRule, rule.id)  # the rule's last user, as committed or set here
                owner = round_robin(candidates, row.last_user_id)
                row.last_user_id = owner
            else:
                owner = self._least_loaded(candidates)
            return self._take(owner, f"{rule.strategy}:{rule.name}"[:40])
        if lead.territory_id:
            members = [uid for uid in self._pool("territory", lead.territory_id) if uid != exclude]
            if members:
                return self._take(self._least_loaded(members), "territory")
        if fallback_team:
            members = [uid for uid in self._pool("team", fallback_team) if uid != exclude]
            if members:
                return self._take(self._least_loaded(members), "team")
        return Choice(None, "unassigned")


def territory_for(session, country: str | None, industry: str | None) -> Area | None:
    """The first territory (by name) covering the country and, if it lists industries, the industry."""
    return Assigner(session).territory_for(country, industry)


def choose(session, lead, exclude: str | None = None, fallback_team: str | None = None) -> Choice:
    return Assigner(session).choose(lead, exclude, fallback_team)
