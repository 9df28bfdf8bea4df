"""The run log: every run with its trigger, each condition's result, each action's outcome, duration and error;
filtered by workflow, record and outcome. A failed (parked) run is replayed from the step that failed."""
from __future__ import annotations

from sqlalchemy import select

from crm_common import paging
from crm_common.errors import ServiceError, not_found
from crm_automation import clock
from crm_automation.domain.workflows import _load as load_workflow
from crm_automation.models import WorkflowRun
from crm_automation_contracts import workflows as c


def _page(ctx, statement, query: dict) -> dict:
    if query.get("status"):
        statement = statement.where(WorkflowRun.status == query["status"])
    if query.get("record_id"):
        statement = statement.where(WorkflowRun.record_id == query["record_id"])
    rows, cursor = paging.paginate(ctx.session, statement, WorkflowRun, query["sort"], query["limit"],
                                   query.get("cursor"), c.WorkflowRunQuery.SORTABLE)
    return {"items": rows, "next_cursor": cursor}


def of_workflow(ctx, record_id: str, query: dict) -> dict:
    load_workflow(ctx, record_id)
    return _page(ctx, select(WorkflowRun).where(WorkflowRun.workflow_id == record_id), query)


def page(ctx, query: dict) -> dict:
    statement = select(WorkflowRun)
    if query.get("workflow_id"):
        statement = statement.where(WorkflowRun.workflow_id == query["workflow_id"])
    return _page(ctx, statement, query)


def get(ctx, record_id: str) -> WorkflowRun:
    run = ctx.session.get(WorkflowRun, record_id)
    if run is None:
        raise not_found("workflow run")
    return run


def replay(ctx, record_id: str) -> WorkflowRun:
    run = get(ctx, record_id)
    if run.status != "failed":
        raise ServiceError("conflict", f"only a failed run is replayed; this one is {run.status}")
    step = run.next_step
    run.status, run.error, run.attempts, run.due_at, run.finished_at, run.duration_ms = \
        "queued", None, 0, clock.now(), None, None
    who = ctx.caller.user_id or ctx.caller.kind
    run.log = [*run.log, f"replayed by {who} from step {step} with workflow version {run.workflow_version}"]
    return run
