"""Who gets a lead: explicit owner, the creating rep, assignment rules, the territory, the team.

Rules (by priority) match a lead's country, industry and source and pick among a team's or a
territory's active members, round-robin or least-loaded (fewest open leads). Without a matching
rule, a lead in a territory goes to its least-loaded member. Reassignment (a user deactivated) uses
the same rules and then the previous owner's team.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from crm_sales.domain import users
from crm_sales.models import AssignmentRule, Lead, Territory

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


def _matches(rule: AssignmentRule, lead) -> bool:
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
    def rules(self) -> list[AssignmentRule]:
        if self._rules is None:
            self._rules = list(self.session.execute(select(AssignmentRule).where(
                AssignmentRule.active.is_(True), AssignmentRule.deleted_at.is_(None))
                .order_by(AssignmentRule.priority, AssignmentRule.created_at)).scalars())
        return self._rules

    def territory_for(self, country: str | None, industry: str | None) -> Territory | None:
        if self._territories is None:
            self._territories = list(self.session.execute(select(Territory).where(Territory.deleted_at.is_(None))
                                                          .order_by(Territory.name, Territory.id)).scalars())
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
                owner = round_robin(candidates, rule.last_user_id)
                rule.last_user_id = owner
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


def territory_for(session, country: str | None, industry: str | None) -> Territory | None:
    """The first territory (by name) covering the country and, if it lists industries, the industry."""
    return Assigner(session).territory_for(country, industry)


def choose(session, lead, exclude: str | None = None, fallback_team: str | None = None) -> Choice:
    return Assigner(session).choose(lead, exclude, fallback_team)
