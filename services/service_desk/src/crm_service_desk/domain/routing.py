"""Routing: rules send a new ticket to a group; within the group an available agent is picked by
round-robin or least load."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_service_desk.models import OPEN_STATUSES, AgentCopy, Group, RoutingRule, Ticket


def rule_matches(rule: RoutingRule, ticket: Ticket, grade: str | None) -> bool:
    """Every criterion the rule sets must hold; keywords match when any appears in subject or description."""
    if rule.channel and rule.channel != ticket.channel:
        return False
    if rule.type and rule.type != ticket.type:
        return False
    if rule.priority and rule.priority != ticket.priority:
        return False
    if rule.account_grade and rule.account_grade != grade:
        return False
    if rule.keywords:
        text = f"{ticket.subject}\n{ticket.description or ''}".lower()
        if not any(keyword.lower() in text for keyword in rule.keywords):
            return False
    return True


def match_group(session: Session, ticket: Ticket, grade: str | None) -> str | None:
    rules = session.execute(select(RoutingRule).where(RoutingRule.active.is_(True), RoutingRule.deleted_at.is_(None))
                            .order_by(RoutingRule.position, RoutingRule.created_at, RoutingRule.id)).scalars()
    for rule in rules:
        if rule_matches(rule, ticket, grade):
            return rule.group_id
    return None


def available_members(session: Session, group: Group) -> list[str]:
    """Members in the group's order, without agents deactivated or marked unavailable.

    A member the service has not heard of yet (its user event is still on the way) counts as available.
    """
    members = list(group.member_ids or [])
    if not members:
        return []
    known = {a.id: a for a in session.execute(select(AgentCopy).where(AgentCopy.id.in_(members))).scalars()}
    return [m for m in members if m not in known or (known[m].is_active and known[m].available)]


def open_load(session: Session, user_ids: list[str]) -> dict[str, int]:
    if not user_ids:
        return {}
    rows = session.execute(select(Ticket.assignee_id, func.count()).where(
        Ticket.assignee_id.in_(user_ids), Ticket.status.in_(OPEN_STATUSES), Ticket.deleted_at.is_(None))
        .group_by(Ticket.assignee_id)).all()
    load = {u: 0 for u in user_ids}
    load.update(dict(rows))
    return load


def pick_agent(session: Session, group: Group, exclude: str | None = None) -> str | None:
    """The next agent of the group by its assignment method (None when nobody is available)."""
    if group.assignment == "none":
        return None
    candidates = [m for m in available_members(session, group) if m != exclude]
    if not candidates:
        return None
    if group.assignment == "least_loaded":
        load = open_load(session, candidates)
        chosen = min(candidates, key=lambda m: (load[m], candidates.index(m)))
    else:  # round_robin: the first available member after the last one given a ticket
        order = list(group.member_ids or [])
        start = order.index(group.last_assigned_id) + 1 if group.last_assigned_id in order else 0
        rotation = order[start:] + order[:start]
        chosen = next(m for m in rotation if m in candidates)
    group.last_assigned_id = chosen
    return chosen


def locked_group(session: Session, group_id: str) -> Group | None:
    """The group, locked for its rotation pointer on PostgreSQL (SQLite serializes writers anyway)."""
    query = select(Group).where(Group.id == group_id, Group.deleted_at.is_(None))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()


def route(session: Session, ticket: Ticket, grade: str | None) -> None:
    """Give a ticket without a group its group by the rules, then an agent of that group."""
    if ticket.group_id is None:
        ticket.group_id = match_group(session, ticket, grade)
    if ticket.group_id is not None and ticket.assignee_id is None:
        group = locked_group(session, ticket.group_id)
        if group is not None:
            ticket.assignee_id = pick_agent(session, group)
