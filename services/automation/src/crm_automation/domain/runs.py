"""The run log: every run with its trigger, each condition's result, each action's outcome, duration and error;
filtered by workflow, record and outcome. A failed (parked) run is replayed from the step that failed."""
from __future__ import annotations

from sqlalchemy import and_, or_, select

from crm_common import paging
from crm_common.errors import ServiceError, not_found, validation
from crm_automation import clock
from crm_automation.domain import ended
from crm_automation.domain.workflows import _load as load_workflow
from crm_automation.models import WorkflowRun
from crm_automation_contracts import workflows as c


def _page(ctx, workflow_id: str | None, query: dict) -> dict:
    """A page of runs in `created_at` order (then id): the rows of `workflow_runs` and the runs that ended at
    their intake (domain.ended), merged; the cursor is the last run's (created_at, id) whichever it came from."""
    sort, limit = query["sort"], query["limit"]
    descending, key = sort.startswith("-"), sort.lstrip("-")
    if key not in c.WorkflowRunQuery.SORTABLE:
        raise validation({"sort": [f"sort by one of: {', '.join(c.WorkflowRunQuery.SORTABLE)}"]})
    if not 1 <= limit <= 200:
        raise validation({"limit": ["between 1 and 200"]})
    after = paging.checked_cursor(WorkflowRun, key, query["cursor"]) if query.get("cursor") else None
    statement = select(WorkflowRun)
    if workflow_id:
        statement = statement.where(WorkflowRun.workflow_id == workflow_id)
    if query.get("status"):
        statement = statement.where(WorkflowRun.status == query["status"])
    if query.get("record_id"):
        statement = statement.where(WorkflowRun.record_id == query["record_id"])
    column, id_ = WorkflowRun.created_at, WorkflowRun.id
    if after is not None:
        value, last = after
        statement = statement.where(or_(column < value, and_(column == value, id_ < last)) if descending else
                                    or_(column > value, and_(column == value, id_ > last)))
    order = (column.desc(), id_.desc()) if descending else (column, id_)
    rows = list(ctx.session.scalars(statement.order_by(*order).limit(limit + 1)))
    rows += ended.page(ctx.session, query, workflow_id, after, descending, limit + 1)
    rows.sort(key=lambda run: (run.created_at, run.id), reverse=descending)
    cursor = paging.encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    return {"items": rows[:limit], "next_cursor": cursor}


def of_workflow(ctx, record_id: str, query: dict) -> dict:
    load_workflow(ctx, record_id)
    return _page(ctx, record_id, query)


def page(ctx, query: dict) -> dict:
    return _page(ctx, query.get("workflow_id"), query)


def get(ctx, record_id: str) -> WorkflowRun:
    run = ctx.session.get(WorkflowRun, record_id) or ended.get(ctx.session, record_id)
    if run is None:
        raise not_found("workflow run")
    return run


def replay(ctx, record_id: str) -> WorkflowRun:
    run = get(ctx, record_id)
    if run.status != "failed":
        raise ServiceError("conflict", f"only a failed run is replayed; this one is {run.status}")
    if isinstance(run.context, dict) and run.context.get("erased"):  # domain.privacy: its record is gone from it
        raise ServiceError("conflict", "this run's record data was erased by a privacy request: it is not "
                                       "replayed (the record's next change starts the workflow again)")
    step = run.next_step
    run.status, run.error, run.attempts, run.due_at, run.finished_at, run.duration_ms = \
        "queued", None, 0, clock.now(), None, None
    who = ctx.caller.user_id or ctx.caller.kind
    run.log = [*run.log, f"replayed by {who} from step {step} with workflow version {run.workflow_version}"]
    return run
