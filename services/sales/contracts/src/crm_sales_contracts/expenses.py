"""Expense claims: reps submit, their manager approves or rejects."""
from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Day, Money, Timestamp
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import Patch, Record, Strict, list_query, page
from crm_sales_contracts.field_types import Currency, Id, TextUpTo

EXPENSE_STATUSES = ("submitted", "approved", "rejected")
EXPENSE_CATEGORIES = ("travel", "meals", "lodging", "mileage", "entertainment", "other")


class ExpenseCreate(Strict):
    amount = Money(required=True, minimum=Decimal("0.01"))
    currency = Currency(required=True)
    category = fields.String(required=True, validate=validate.OneOf(EXPENSE_CATEGORIES))
    description = TextUpTo(2000, allow_none=True)
    incurred_on = Day(required=True)


class ExpenseUpdate(Patch):
    amount = Money(minimum=Decimal("0.01"))
    currency = Currency()
    category = fields.String(validate=validate.OneOf(EXPENSE_CATEGORIES))
    description = TextUpTo(2000, allow_none=True)
    incurred_on = Day()


class ExpenseDecision(Strict):
    note = TextUpTo(500, allow_none=True)


class Expense(Record):
    owner_id = fields.String(allow_none=True)
    amount = Money()
    currency = fields.String()
    category = fields.String()
    description = fields.String(allow_none=True)
    incurred_on = Day()
    status = fields.String()
    decided_by = fields.String(allow_none=True)
    decided_at = Timestamp(allow_none=True)
    decision_note = fields.String(allow_none=True)


class ExpenseFilters(Schema):
    SORTABLE = ("created_at", "incurred_on", "amount")
    status = fields.String(validate=validate.OneOf(EXPENSE_STATUSES))
    owner_id = Id()


ExpenseListQuery = list_query("ExpenseListQuery", ExpenseFilters)
ExpensePage = page(Expense, "ExpensePage")

LIST_EXPENSES = rpc("sales", "list_expenses", ExpenseListQuery, ExpensePage, permission=("expense", "read"))
CREATE_EXPENSE = rpc("sales", "create_expense", ExpenseCreate, Expense, permission=("expense", "create"))
GET_EXPENSE = rpc("sales", "get_expense", None, Expense, permission=("expense", "read"), record=True)
UPDATE_EXPENSE = rpc("sales", "update_expense", ExpenseUpdate, Expense, permission=("expense", "update"), record=True)
DELETE_EXPENSE = rpc("sales", "delete_expense", None, None, permission=("expense", "delete"), record=True)
DECIDE_EXPENSE = rpc("sales", "decide_expense", ExpenseDecision, Expense, permission=("expense", "admin"), record=True,
                     description="A manager of the claimant's team approves (`approve=True`) or rejects a claim; "
                                 "nobody but an admin decides their own.")


class ExpenseApprovalRequestedData(Schema):
    id = fields.String(required=True)
    owner_id = fields.String(allow_none=True)
    amount = fields.String(required=True)
    currency = fields.String(required=True)
    category = fields.String(allow_none=True)
    limit = fields.String(required=True)


EXPENSE_APPROVAL_REQUESTED = event("sales", "expense_approval_requested", 1, ExpenseApprovalRequestedData,
                                   "A claim above the approval amount was submitted (or raised above it): it waits "
                                   "for its approval chain (automation.approval_decided.v1 decides it).",
                                   entity="expense", action="update")
