"""Approvals, a general mechanism: a chain of steps (a named approver, the requester's team manager, or anyone of
a role), each decided with a comment; delegation while away; reminders and escalation when pending too long."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Boolean, Text, Timestamp
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import ListQuery, Strict, page

APPROVAL_STATUSES = ("pending", "approved", "rejected", "cancelled")


class ApprovalStep(Schema):
    approver_id = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decision = fields.String(allow_none=True, metadata={"description": "approved or rejected"})
    comment = fields.String(allow_none=True)
    decided_at = Timestamp(allow_none=True)
    escalated = fields.Boolean()


class Approval(Schema):
    class Meta:
        ordered = True

    id = fields.String(required=True)
    resource = fields.String()
    record_id = fields.String()
    title = fields.String()
    reason = fields.String(allow_none=True)
    requested_by = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(APPROVAL_STATUSES))
    current_step = fields.Integer()
    steps = fields.List(fields.Nested(ApprovalStep))
    history = fields.List(fields.Dict(), metadata={"description": "every request, decision, reminder and escalation"})
    created_at = Timestamp()
    decided_at = Timestamp(allow_none=True)


class ApprovalQuery(ListQuery):
    SORTABLE = ("created_at",)
    status = fields.String(validate=validate.OneOf(APPROVAL_STATUSES),
                           metadata={"description": "pending: those waiting for the caller's decision"})
    resource = Text(validate=validate.Length(max=64))
    record_id = Text(validate=validate.Length(max=64))


class Decision(Strict):
    comment = Text(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class DelegationIn(Strict):
    RULES = ("delegate_id is another user; until is in the future",)

    delegate_id = Text(required=True, allow_none=True, validate=validate.Length(min=1, max=64),
                       metadata={"description": "null ends the delegation"})
    until = Timestamp(load_default=None, allow_none=True)


class Delegation(Schema):
    user_id = fields.String()
    delegate_id = fields.String(allow_none=True)
    until = Timestamp(allow_none=True)


class ApprovalRequestedData(Schema):
    id = fields.String(required=True)
    resource = fields.String(required=True)
    record_id = fields.String(required=True)
    approver_ids = fields.List(fields.String(), required=True)
    role = fields.String(allow_none=True)


class ApprovalDecidedData(Schema):
    id = fields.String(required=True)
    resource = fields.String(required=True)
    record_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("approved", "rejected", "cancelled")))
    decided_by = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)


APPROVAL_REQUESTED = event("automation", "approval_requested", 1, ApprovalRequestedData,
                           "An approval step waits for its approvers.", entity="approval", action="create")
APPROVAL_DECIDED = event("automation", "approval_decided", 1, ApprovalDecidedData,
                         "An approval was decided: approved at its last step, or rejected at any.",
                         entity="approval", action="update")

# self-service: the service lets only a step's approvers (or their delegates) decide, and shows an approval to
# its requester and its approvers
LIST_APPROVALS = rpc("automation", "list_approvals", ApprovalQuery, page(Approval, "ApprovalPage"),
                     description="Approvals the caller requested or may decide; status=pending: waiting for the "
                                 "caller's decision.")
GET_APPROVAL = rpc("automation", "get_approval", None, Approval, record=True)
APPROVE = rpc("automation", "approve", Decision, Approval, record=True,
              description="Approve the current step (the next step's approvers are asked; the last one decides).")
REJECT = rpc("automation", "reject", Decision, Approval, record=True, description="Reject: the approval ends.")
SET_DELEGATION = rpc("automation", "set_delegation", DelegationIn, Delegation,
                     description="While away: the caller's approvals go to another user (until a time).")
