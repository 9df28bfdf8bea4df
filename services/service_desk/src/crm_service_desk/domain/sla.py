"""Service levels: which policy a ticket gets, its due times, the clock pausing while pending, breach
detection with escalation, and compliance figures per policy."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

import crm_service_desk_contracts as c
from crm_service_desk.domain.business_hours import business_minutes_between, due_time
from crm_service_desk.domain.configuration import SLA_POLICIES, calendar_of
from crm_service_desk.domain.records import now, timestamp
from crm_service_desk.models import (AccountCopy, Comment, Group, Notification, ServiceContract, SlaBreach,
                                     SlaPolicy, Ticket)

if TYPE_CHECKING:
    from crm_common.context import Context

SCAN_BATCH = 500  # tickets a breach scan takes in one transaction
ESCALATE = {"low": "normal", "normal": "high", "high": "urgent", "urgent": "urgent"}
UNSOLVED = ("new", "open", "pending", "on_hold", "reopened")


def pick_policy(session: Session, priority: str, grade: str | None, contract: ServiceContract | None):
    """The contract's policy if it names one; else the policy for the priority and the account's
    grade; else the one for the priority alone."""
    if contract is not None and contract.sla_policy_id:
        policy = session.get(SlaPolicy, contract.sla_policy_id)
        if policy is not None and policy.active and policy.deleted_at is None:
            return policy
    live = select(SlaPolicy).where(SlaPolicy.priority == priority, SlaPolicy.active.is_(True),
                                   SlaPolicy.deleted_at.is_(None)).order_by(SlaPolicy.created_at, SlaPolicy.id)
    if grade:
        policy = session.execute(live.where(SlaPolicy.account_grade == grade)).scalars().first()
        if policy is not None:
            return policy
    return session.execute(live.where(SlaPolicy.account_grade.is_(None))).scalars().first()


def account_grade(session: Session, account_id: str | None) -> str | None:
    if not account_id:
        return None
    account = session.get(AccountCopy, account_id)
    return account.grade if account else None


def apply_policy(session: Session, ticket: Ticket, policy: SlaPolicy | None) -> None:
    """Set the ticket's policy and due times (targets start at creation, plus time spent paused)."""
    ticket.sla_policy_id = policy.id if policy else None
    if policy is None:
        ticket.first_response_due_at = ticket.resolution_due_at = None
        return
    cal = calendar_of(session, policy.business_hours_id)
    paused = ticket.paused_minutes or 0
    ticket.first_response_due_at = due_time(ticket.created_at, policy.first_response_minutes + paused, cal)
    ticket.resolution_due_at = due_time(ticket.created_at, policy.resolution_minutes + paused, cal)


def refresh_policy(session: Session, ticket: Ticket) -> None:
    """After a priority change: the policy and due times for the new priority."""
    contract = session.get(ServiceContract, ticket.service_contract_id) if ticket.service_contract_id else None
    apply_policy(session, ticket, pick_policy(session, ticket.priority, account_grade(session, ticket.account_id),
                                              contract))


def pause(ticket: Ticket, at: datetime) -> None:
    if ticket.paused_at is None:
        ticket.paused_at = at


def resume(session: Session, ticket: Ticket, at: datetime) -> None:
    """Leave the paused state: the working time spent paused pushes the open targets back."""
    if ticket.paused_at is None:
        return
    policy = session.get(SlaPolicy, ticket.sla_policy_id) if ticket.sla_policy_id else None
    cal = calendar_of(session, policy.business_hours_id) if policy else None
    ticket.paused_minutes = (ticket.paused_minutes or 0) + round(business_minutes_between(ticket.paused_at, at, cal))
    ticket.paused_at = None
    if policy is not None:
        first_due = ticket.first_response_due_at
        apply_policy(session, ticket, policy)
        if ticket.first_responded_at is not None or ticket.first_response_breached_at is not None:
            ticket.first_response_due_at = first_due  # a target already met or missed stays as it was


def restart_resolution(session: Session, ticket: Ticket, at: datetime) -> None:
    """A reopened ticket gets a fresh resolution target from the moment it was reopened."""
    policy = session.get(SlaPolicy, ticket.sla_policy_id) if ticket.sla_policy_id else None
    if policy is None:
        return
    ticket.resolution_due_at = due_time(at, policy.resolution_minutes, calendar_of(session, policy.business_hours_id))
    ticket.resolution_breached_at = None


def _due_clause(at: datetime):
    return or_(
        and_(Ticket.first_responded_at.is_(None), Ticket.first_response_breached_at.is_(None),
             Ticket.first_response_due_at <= at),
        and_(Ticket.resolution_breached_at.is_(None), Ticket.resolution_due_at <= at))


def scan_breaches(ctx: Context, at: datetime, limit: int = SCAN_BATCH) -> int:
    """Mark, record and escalate the breaches due by `at` (one batch); returns how many tickets."""
    session = ctx.session
    query = (select(Ticket).where(Ticket.status.in_(UNSOLVED), Ticket.paused_at.is_(None),
                                  Ticket.deleted_at.is_(None), _due_clause(at))
             .order_by(Ticket.resolution_due_at).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Ticket)
    tickets = session.execute(query).scalars().all()
    for ticket in tickets:
        kinds = []
        if (ticket.first_responded_at is None and ticket.first_response_breached_at is None
                and ticket.first_response_due_at is not None and ticket.first_response_due_at <= at):
            ticket.first_response_breached_at = at
            kinds.append(("first_response", ticket.first_response_due_at))
        if (ticket.resolution_breached_at is None and ticket.resolution_due_at is not None
                and ticket.resolution_due_at <= at):
            ticket.resolution_breached_at = at
            kinds.append(("resolution", ticket.resolution_due_at))
        for kind, due in kinds:
            _breach(ctx, ticket, kind, due, at)
    return len(tickets)


def _breach(ctx: Context, ticket: Ticket, kind: str, due: datetime, at: datetime) -> None:
    session = ctx.session
    ticket.sla_breached = True
    session.add(SlaBreach(ticket_id=ticket.id, policy_id=ticket.sla_policy_id, kind=kind, due_at=due,
                          breached_at=at, detected_at=at))
    ctx.emit(c.SLA_BREACHED, {"id": ticket.id, "number": ticket.number, "kind": kind, "due_at": timestamp(due),
                              "breached_at": timestamp(at), "policy_id": ticket.sla_policy_id})
    previous = ticket.priority
    ticket.priority = ESCALATE[previous]
    ticket.escalation_level = (ticket.escalation_level or 0) + 1
    group = session.get(Group, ticket.group_id) if ticket.group_id else None
    manager_id = group.manager_id if group else None
    label = kind.replace("_", " ")
    message = (f"SLA breached on {ticket.number}: the {label} was due at {timestamp(due)}. "
               f"Escalated to level {ticket.escalation_level}, priority {previous} -> {ticket.priority}.")
    session.add(Comment(ticket_id=ticket.id, author_id=None, author_kind="system", author_name="SLA monitor",
                        body=message, public=False, created_at=at))
    session.add(Notification(user_id=manager_id, ticket_id=ticket.id, kind="sla_breached", message=message,
                             created_at=at))
    ctx.emit(c.TICKET_ESCALATED, {"id": ticket.id, "number": ticket.number, "reason": f"sla_breached:{kind}",
                                  "level": ticket.escalation_level, "priority": ticket.priority,
                                  "previous_priority": previous, "manager_id": manager_id,
                                  "group_id": ticket.group_id,
                                  "changed_fields": ["priority", "escalation_level", "sla_breached"]})


def scan_due(ctx: Context) -> int:
    """One batch of the breaches due now (the monitor's timer runs batches until one is not full)."""
    return scan_breaches(ctx, now(), SCAN_BATCH)


def scan_now(ctx: Context) -> dict:
    """One breach scan now (scan_sla): the first batch in this call's transaction; if it was full, the rest
    after it commits, each batch in its own transaction (the service's scan_until_done)."""
    answer = {"breached_tickets": scan_due(ctx)}
    if answer["breached_tickets"] == SCAN_BATCH:
        ctx.after_commit(lambda: answer.update(breached_tickets=SCAN_BATCH + ctx.service.scan_until_done()))
    return answer


def compliance_all(ctx: Context) -> dict:
    """sla_compliance: every live policy's figures."""
    return {"items": compliance(ctx.session)}


def policy_compliance(ctx: Context, policy_id: str) -> dict:
    """sla_policy_compliance: one policy's figures (404 for a policy that is not there)."""
    SLA_POLICIES.get(ctx, policy_id)
    return {"items": compliance(ctx.session, [policy_id])}


def compliance(session: Session, policy_ids: list[str] | None = None) -> list[dict]:
    """Per policy: tickets, and for each target how many met it, missed it, or are still open."""
    policies = session.execute(select(SlaPolicy).where(SlaPolicy.deleted_at.is_(None))
                               .order_by(SlaPolicy.priority, SlaPolicy.name)).scalars().all()
    if policy_ids is not None:
        policies = [p for p in policies if p.id in policy_ids]
    live = Ticket.deleted_at.is_(None)
    counts = dict(session.execute(select(Ticket.sla_policy_id, func.count()).where(live)
                                  .group_by(Ticket.sla_policy_id)).all())
    fr_met = dict(session.execute(select(Ticket.sla_policy_id, func.count()).where(
        live, Ticket.first_responded_at.is_not(None), Ticket.first_response_breached_at.is_(None))
        .group_by(Ticket.sla_policy_id)).all())
    res_met = dict(session.execute(select(Ticket.sla_policy_id, func.count()).where(
        live, Ticket.solved_at.is_not(None), Ticket.resolution_breached_at.is_(None))
        .group_by(Ticket.sla_policy_id)).all())
    breaches = session.execute(select(SlaBreach.policy_id, SlaBreach.kind, func.count())
                               .group_by(SlaBreach.policy_id, SlaBreach.kind)).all()
    missed = {(p, k): n for p, k, n in breaches}
    result = []
    for policy in policies:
        total = counts.get(policy.id, 0)
        result.append({"policy_id": policy.id, "name": policy.name, "priority": policy.priority, "tickets": total,
                       "first_response": _figures(fr_met.get(policy.id, 0), missed.get((policy.id, "first_response"), 0), total),
                       "resolution": _figures(res_met.get(policy.id, 0), missed.get((policy.id, "resolution"), 0), total)})
    return result


def _figures(met: int, breached: int, total: int) -> dict:
    decided = met + breached
    return {"met": met, "breached": breached, "open": max(total - decided, 0),
            "compliance_percent": round(100.0 * met / decided, 1) if decided else None}

