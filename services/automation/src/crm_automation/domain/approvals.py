"""Approvals as a general mechanism: a chain of steps on one record, each decided (approve or reject, with a
comment) by its approver, anyone of its role, or their delegate while they are away; reminders and escalation
when a step waits too long; everything kept in the approval's history and announced as events (the audit trail).

A step is `{approver: "manager"}` (the requester's team manager; `fallback_role` when the team has none),
`{approver_id}` or `{role}`. The owner of the record hears the outcome through `automation.approval_decided.v1`
(sales sends a quote once it is approved).
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm_common import config
from crm_common.db import serialize_on
from crm_common.errors import ServiceError, validation
from crm_automation import clock
from crm_automation.domain import notifications, render
from crm_automation.models import Approval, Delegation, Team, UserAddress
from crm_automation_contracts import approvals as c

MAX_LISTED = 500


def _now_iso() -> str:
    return clock.now().isoformat()


def _manager_of(session, user_id: str | None) -> str | None:
    user = session.get(UserAddress, user_id) if user_id else None
    team = session.get(Team, user.team_id) if user is not None and user.team_id else None
    return team.manager_id if team is not None else None


def resolve(session, spec: list[dict], requested_by: str | None) -> list[dict]:
    steps = []
    for i, item in enumerate(spec):
        step = {"approver_id": None, "role": None, "decided_by": None, "decision": None, "comment": None,
                "decided_at": None, "escalated": False}
        if item.get("approver") == "manager":
            step["approver_id"] = _manager_of(session, requested_by)
            if step["approver_id"] is None or step["approver_id"] == requested_by:
                step["approver_id"], step["role"] = None, item.get("fallback_role") or "sales_manager"
        elif item.get("approver_id"):
            step["approver_id"] = item["approver_id"]
        elif item.get("role"):
            step["role"] = item["role"]
        else:
            raise validation({f"steps.{i}": ["a step is {approver: manager}, {approver_id} or {role}"]})
        steps.append(step)
    return steps


def _delegate(session, user_id: str) -> str | None:
    row = session.get(Delegation, user_id)
    if row is None or (row.until is not None and row.until <= clock.now()):
        return None
    return row.delegate_id


def _deciders(ctx, step: dict) -> list[str]:
    people = [step["approver_id"]] if step["approver_id"] else notifications.users_with_role(ctx, step["role"])
    if step.get("escalated"):
        people += notifications.users_with_role(ctx, escalation_role())
    return sorted({p for p in people if p} | {d for p in people if p for d in [_delegate(ctx.session, p)] if d})


def _ask(ctx, approval: Approval, note: str = "requested") -> None:
    step = approval.steps[approval.current_step]
    approval.approver_ids = _deciders(ctx, step)
    approval.step_started_at, approval.reminded_at = clock.now(), None
    approval.history = [*approval.history, {"at": _now_iso(), "event": note, "step": approval.current_step,
                                            "approver_ids": approval.approver_ids, "role": step["role"]}]
    notifications.notify(ctx, approval.approver_ids, "approval", f"Approval needed: {approval.title}",
                         approval.reason, None, approval.resource, approval.record_id)
    ctx.emit(c.APPROVAL_REQUESTED, {"id": approval.id, "resource": approval.resource, "record_id": approval.record_id,
                                    "approver_ids": approval.approver_ids, "role": step["role"]})


def start(ctx, resource: str, record_id: str, title: str, spec: list[dict], requested_by: str | None,
          reason: str | None = None) -> Approval:
    """A new approval, or the one already pending on this record (asking twice starts nothing new). Two requests
    for one record handled at once (a quote sent twice) are serialized on PostgreSQL by a lock of the record's
    own for the transaction, so the second finds the first's approval; SQLite has one writer at a time."""
    serialize_on(ctx.session, f"approval:{resource}:{record_id}")
    pending = ctx.session.scalars(select(Approval).where(Approval.resource == resource, Approval.record_id == record_id,
                                                         Approval.status == "pending")).first()
    if pending is not None:
        return pending
    approval = Approval(resource=resource, record_id=record_id, title=title[:300], reason=reason,
                        requested_by=requested_by, status="pending", current_step=0,
                        steps=resolve(ctx.session, spec, requested_by), history=[], approver_ids=[],
                        step_started_at=clock.now())
    ctx.session.add(approval)
    ctx.session.flush()
    _ask(ctx, approval)
    return approval


def start_from_workflow(ctx, run, action: dict) -> Approval:
    view = {**run.context, "run": {"id": run.id}}
    record = run.context.get("record") or {}
    if not run.resource or not run.record_id:
        raise ValueError("start_approval needs a record: the workflow's trigger names none")
    title = render.render(action.get("title") or f"{run.resource} {run.record_id}", view)
    return start(ctx, run.resource, run.record_id, title, action["steps"],
                 record.get("owner_id"),
                 render.render(action.get("reason"), view))


def _involves(approval: Approval, actor) -> bool:
    if actor.is_admin or actor.user_id in (approval.approver_ids or []) or actor.user_id == approval.requested_by:
        return True
    return any(s.get("decided_by") == actor.user_id or (s.get("role") and s["role"] in actor.roles)
               for s in approval.steps)


def _may_decide(ctx, approval: Approval) -> bool:
    actor = ctx.caller
    step = approval.steps[approval.current_step]
    if actor.user_id and actor.user_id in (approval.approver_ids or []):
        return True
    return bool(step.get("role")) and step["role"] in actor.roles


def get(ctx, record_id: str) -> Approval:
    approval = ctx.session.get(Approval, record_id)
    if approval is None or not _involves(approval, ctx.caller):
        raise ServiceError("not_found", "no such approval")
    return approval


def page(ctx, query: dict) -> dict:
    statement = select(Approval)
    for name in ("status", "resource", "record_id"):
        if query.get(name):
            statement = statement.where(getattr(Approval, name) == query[name])
    descending = query["sort"].startswith("-")
    statement = statement.order_by(Approval.created_at.desc() if descending else Approval.created_at)
    rows = ctx.session.scalars(statement.limit(MAX_LISTED)).all()
    if query.get("status") == "pending":
        rows = [a for a in rows if _may_decide(ctx, a)]
    else:
        rows = [a for a in rows if _involves(a, ctx.caller)]
    return {"items": rows[:query["limit"]], "next_cursor": None}


def _decide(ctx, record_id: str, data: dict, decision: str) -> Approval:
    approval = get(ctx, record_id)
    if approval.status != "pending":
        raise ServiceError("conflict", f"this approval is {approval.status} already")
    if not _may_decide(ctx, approval):
        raise ServiceError("forbidden", "you are not an approver of this step (nor their delegate)")
    actor = ctx.caller
    index = approval.current_step
    steps = [dict(s) for s in approval.steps]
    steps[index].update(decided_by=actor.user_id, decision=decision, comment=data.get("comment"),
                        decided_at=_now_iso())
    approval.steps = steps
    on_behalf = steps[index]["approver_id"] if steps[index]["approver_id"] not in (None, actor.user_id) else None
    approval.history = [*approval.history, {"at": _now_iso(), "event": decision, "step": index, "by": actor.user_id,
                                            "on_behalf_of": on_behalf, "comment": data.get("comment")}]
    if decision == "approved" and index + 1 < len(steps):
        approval.current_step = index + 1
        _ask(ctx, approval, "next step")
        return approval
    approval.status, approval.decided_at, approval.approver_ids = decision, clock.now(), []
    ctx.emit(c.APPROVAL_DECIDED, {"id": approval.id, "resource": approval.resource, "record_id": approval.record_id,
                                  "status": decision, "decided_by": actor.user_id, "comment": data.get("comment")})
    notifications.notify(ctx, [approval.requested_by], "approval", f"{approval.title}: {decision}",
                         data.get("comment"), None, approval.resource, approval.record_id)
    return approval


def approve(ctx, record_id: str, data: dict) -> Approval:
    return _decide(ctx, record_id, data, "approved")


def reject(ctx, record_id: str, data: dict) -> Approval:
    return _decide(ctx, record_id, data, "rejected")


def set_delegation(ctx, data: dict) -> dict:
    user_id = ctx.caller.user_id
    if not user_id:
        raise ServiceError("forbidden", "a delegation belongs to a signed-in user")
    row = ctx.session.get(Delegation, user_id)
    if data["delegate_id"] is None:
        if row is not None:
            ctx.session.delete(row)
        return {"user_id": user_id, "delegate_id": None, "until": None}
    if data["delegate_id"] == user_id:
        raise validation({"delegate_id": ["delegate to someone else"]})
    if data.get("until") is not None and data["until"] <= clock.now():
        raise validation({"until": ["must be in the future"]})
    if row is None:
        row = Delegation(user_id=user_id, delegate_id=data["delegate_id"])
        ctx.session.add(row)
    row.delegate_id, row.until = data["delegate_id"], data.get("until")
    # the pending steps waiting for this user: their delegate may decide them from now on
    for approval in ctx.session.scalars(select(Approval).where(Approval.status == "pending")).all():
        if user_id in (approval.approver_ids or []):
            approval.approver_ids = sorted(set(approval.approver_ids) | {row.delegate_id})
            approval.history = [*approval.history, {"at": _now_iso(), "event": "delegated", "by": user_id,
                                                    "to": row.delegate_id}]
            notifications.notify(ctx, [row.delegate_id], "approval", f"Approval needed (delegated): {approval.title}",
                                 None, None, approval.resource, approval.record_id)
    return {"user_id": user_id, "delegate_id": row.delegate_id, "until": row.until}


def escalation_role() -> str:
    return config.env("CRM_APPROVAL_ESCALATION_ROLE", "admin")


def remind_and_escalate(ctx) -> int:
    """Pending steps waiting past `CRM_APPROVAL_REMIND_HOURS` (24) are reminded once; past
    `CRM_APPROVAL_ESCALATE_HOURS` (72) the escalation role may decide them too."""
    now = clock.now()
    remind = timedelta(hours=config.env_float("CRM_APPROVAL_REMIND_HOURS", 24.0))
    escalate = timedelta(hours=config.env_float("CRM_APPROVAL_ESCALATE_HOURS", 72.0))
    touched = 0
    for approval in ctx.session.scalars(select(Approval).where(Approval.status == "pending",
                                                               Approval.step_started_at <= now - remind)).all():
        step = approval.steps[approval.current_step]
        if approval.step_started_at <= now - escalate and not step.get("escalated"):
            steps = [dict(s) for s in approval.steps]
            steps[approval.current_step]["escalated"] = True
            approval.steps = steps
            approval.approver_ids = _deciders(ctx, steps[approval.current_step])
            approval.history = [*approval.history, {"at": _now_iso(), "event": "escalated",
                                                    "step": approval.current_step, "role": escalation_role()}]
            notifications.notify(ctx, approval.approver_ids, "approval", f"Escalated: {approval.title}",
                                 approval.reason, None, approval.resource, approval.record_id)
            touched += 1
        elif approval.reminded_at is None:
            approval.reminded_at = now
            approval.history = [*approval.history, {"at": _now_iso(), "event": "reminded",
                                                    "step": approval.current_step}]
            notifications.notify(ctx, approval.approver_ids, "approval", f"Reminder: approval needed: {approval.title}",
                                 approval.reason, None, approval.resource, approval.record_id)
            touched += 1
    return touched


def apply_team(ctx, data: dict, deleted: bool = False) -> None:
    row = ctx.session.get(Team, data["id"])
    if deleted:
        if row is not None:
            ctx.session.delete(row)
        return
    if row is None:
        row = Team(id=data["id"])
        ctx.session.add(row)
    row.manager_id = data.get("manager_id")


def quote_requested(ctx, data: dict) -> Approval:
    """sales asks for a quote's discount approval: the owner's manager, then (at or above
    `CRM_APPROVAL_QUOTE_SECOND_PERCENT`, 30) the escalation role as well."""
    second = config.env_float("CRM_APPROVAL_QUOTE_SECOND_PERCENT", 30.0)
    spec = [{"approver": "manager", "fallback_role": "sales_manager"}]
    if float(data["max_discount_percent"]) >= second:
        spec.append({"role": escalation_role()})
    reason = f"a discount of {data['max_discount_percent']}% (the limit is {data['limit_percent']}%) on a quote " \
             f"of {data.get('total')} {data.get('currency') or ''}".strip()
    return start(ctx, "quote", data["id"], f"Quote discount {data['max_discount_percent']}%", spec,
                 data.get("owner_id"), reason)


def expense_requested(ctx, data: dict) -> Approval:
    """sales asks for an expense claim's approval (above its approval amount): the claimant's manager (a sales
    manager when the team has none)."""
    reason = f"an expense claim of {data['amount']} {data['currency']} ({data.get('category') or 'other'}); " \
             f"claims above {data['limit']} are approved here"
    return start(ctx, "expense", data["id"], f"Expense claim {data['amount']} {data['currency']}",
                 [{"approver": "manager", "fallback_role": "sales_manager"}], data.get("owner_id"), reason)
