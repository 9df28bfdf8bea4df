"""Expense claims: reps submit, their manager approves or rejects (never their own)."""
from __future__ import annotations

from decimal import Decimal

from crm_common import scope
from crm_common.context import Actor
from crm_common.db import utcnow
from crm_common.errors import ServiceError
from crm_sales.domain import records, users
from crm_sales.models import Expense

EDITABLE = ("amount", "currency", "category", "description", "incurred_on")


def create(session, actor: Actor, data: dict, emit) -> Expense:
    expense = Expense(**{k: data.get(k) for k in EDITABLE}, status="submitted", owner_id=actor.user_id,
                      team_id=users.team_of(session, actor.user_id, actor))
    expense.amount = Decimal(expense.amount)
    session.add(expense)
    session.flush()
    records.changed(emit, "expense", expense.id, "create")
    return expense


def update(session, actor: Actor, expense_id: str, data: dict, expected_version, emit) -> Expense:
    expense = records.load_for_update(session, actor, "expense", Expense, expense_id, expected_version)
    if expense.status != "submitted":
        raise ServiceError("conflict", f"an {expense.status} claim cannot change")
    if "amount" in data:
        data["amount"] = Decimal(data["amount"])
    changed = records.apply(expense, data, EDITABLE)
    session.flush()
    records.changed(emit, "expense", expense.id, "update", changed)
    return expense


def _undecided(expense: Expense) -> None:
    if expense.status != "submitted":
        raise ServiceError("conflict", "a decided claim is kept")


def delete(session, actor: Actor, expense_id: str, emit) -> None:
    records.delete(session, actor, "expense", Expense, expense_id, emit, guard=_undecided)


def decide(session, actor: Actor, expense_id: str, approve: bool, note: str | None, emit) -> Expense:
    expense = records.load(session, actor, "expense", Expense, expense_id)
    if not scope.allows(actor, "expense", "admin", expense):
        raise ServiceError("forbidden", "a manager of the team decides expense claims")
    if expense.owner_id == actor.user_id and not actor.is_admin:
        raise ServiceError("forbidden", "nobody approves their own expense claim")
    if expense.status != "submitted":
        raise ServiceError("conflict", f"this claim is {expense.status} already")
    expense.status = "approved" if approve else "rejected"
    expense.decided_by, expense.decided_at, expense.decision_note = actor.user_id, utcnow(), note
    session.flush()
    records.changed(emit, "expense", expense.id, "approve", ("status", "decided_by", "decided_at", "decision_note"))
    return expense
