"""Expense claims: reps submit, their manager approves or rejects (never their own).

A claim above `CRM_SALES_EXPENSE_APPROVAL_AMOUNT` (500.00, any currency) goes through the general approval
mechanism (the automation service) instead: submitting it (or raising it above the amount) asks for approval
(`sales.expense_approval_requested.v1`), it waits, and `automation.approval_decided.v1` approves or rejects it;
a manager's direct decision is refused for it (409)."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import crm_sales_contracts as c
from crm_common import config, scope
from crm_common.db import utcnow
from crm_common.errors import ServiceError
from crm_sales.domain import records, users
from crm_sales.models import Expense

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

EDITABLE = ("amount", "currency", "category", "description", "incurred_on")
get = records.reader("expense", Expense)
page = records.lister("expense", Expense, c.ExpenseFilters.SORTABLE)


def create(ctx: Context, data: dict) -> Expense:
    actor = ctx.caller
    expense = Expense(**{k: data.get(k) for k in EDITABLE}, status="submitted", owner_id=actor.user_id,
                      team_id=users.team_of(ctx.session, actor.user_id, actor))
    expense.amount = Decimal(expense.amount)
    ctx.session.add(expense)
    ctx.session.flush()
    records.changed(ctx, "expense", expense.id, "create")
    _ask_approval(ctx, expense)
    return expense


def update(ctx: Context, record_id: str, data: dict, expected_version: int | None = None) -> Expense:
    expense = records.load_for_update(ctx, "expense", Expense, record_id, expected_version)
    if expense.status != "submitted":
        raise ServiceError("conflict", f"an {expense.status} claim cannot change")
    if "amount" in data:
        data["amount"] = Decimal(data["amount"])
    changed = records.apply(expense, data, EDITABLE)
    ctx.session.flush()
    records.changed(ctx, "expense", expense.id, "update", changed)
    if "amount" in changed:
        _ask_approval(ctx, expense)
    return expense


def _undecided(expense: Expense) -> None:
    if expense.status != "submitted":
        raise ServiceError("conflict", "a decided claim is kept")


delete = records.deleter("expense", Expense, guard=_undecided)


def decide(ctx: Context, record_id: str, data: dict, approve: bool = False) -> Expense:
    """Approve (`approve=True`) or reject a submitted claim, with an optional `note`."""
    actor = ctx.caller
    expense = records.load(ctx, "expense", Expense, record_id)
    if not scope.allows(actor, "expense", "admin", expense):
        raise ServiceError("forbidden", "a manager of the team decides expense claims")
    if expense.owner_id == actor.user_id and not actor.is_admin:
        raise ServiceError("forbidden", "nobody approves their own expense claim")
    if expense.status != "submitted":
        raise ServiceError("conflict", f"this claim is {expense.status} already")
    if _needs_chain(expense):
        raise ServiceError("conflict", f"a claim above {approval_amount()} is decided through its approval chain "
                                       "(/api/v1/approvals)", extra={"needs_approval": True})
    expense.status = "approved" if approve else "rejected"
    expense.decided_by, expense.decided_at, expense.decision_note = actor.user_id, utcnow(), data.get("note")
    ctx.session.flush()
    records.changed(ctx, "expense", expense.id, "approve", ("status", "decided_by", "decided_at", "decision_note"))
    return expense


def approval_amount() -> Decimal:
    return Decimal(config.env("CRM_SALES_EXPENSE_APPROVAL_AMOUNT", "500.00"))


def _needs_chain(expense: Expense) -> bool:
    return Decimal(expense.amount) > approval_amount()


def _ask_approval(ctx: Context, expense: Expense) -> None:
    """Above the approval amount: the automation service starts (or joins) the claim's approval chain."""
    if _needs_chain(expense):
        ctx.emit(c.EXPENSE_APPROVAL_REQUESTED, {"id": expense.id, "owner_id": expense.owner_id,
                                                "amount": str(expense.amount), "currency": expense.currency,
                                                "category": expense.category, "limit": str(approval_amount())})


def approval_decided(ctx: Context, data: dict) -> None:
    """The approval of a claim was decided (automation.approval_decided.v1): a waiting claim takes the decision."""
    expense = ctx.session.get(Expense, data["record_id"])
    if expense is None or expense.deleted_at is not None or expense.status != "submitted" \
            or data["status"] not in ("approved", "rejected"):
        return
    expense.status = data["status"]
    expense.decided_by, expense.decided_at = data.get("decided_by"), utcnow()
    expense.decision_note = (data.get("comment") or None) and data["comment"][:500]
    ctx.session.flush()
    records.changed(ctx, "expense", expense.id, "approve", ("status", "decided_by", "decided_at", "decision_note"))
