"""Workflow definitions: create, change, switch off, delete (soft), list. Administrators define them (the
`workflow` permission); a change makes a new version, and a run keeps the version it started with."""
from __future__ import annotations

from sqlalchemy import select

from crm_common import paging
from crm_common.errors import not_found
from crm_common.versioning import check_version
from crm_automation import clock
from crm_automation.domain import definitions, engine, schedule
from crm_automation.models import Workflow
from crm_automation_contracts import workflows as c

EDITABLE = ("name", "description", "trigger", "conditions", "actions", "active")


def _load(ctx, record_id: str) -> Workflow:
    workflow = ctx.session.get(Workflow, record_id)
    if workflow is None or workflow.deleted_at is not None:
        raise not_found("workflow")
    return workflow


def _arm(workflow: Workflow) -> None:
    workflow.listens_to = definitions.listens_to(workflow.trigger)
    if workflow.trigger["type"] == "schedule" and workflow.active:
        workflow.next_fire_at = schedule.next_fire(workflow.trigger["cron"], workflow.trigger.get("timezone"),
                                                   clock.now())
    else:
        workflow.next_fire_at = None


def create(ctx, data: dict, template: str | None = None) -> Workflow:
    definitions.check(data["trigger"], data.get("conditions"), data["actions"])
    workflow = Workflow(name=data["name"], description=data.get("description"), trigger=data["trigger"],
                        conditions=data.get("conditions"), actions=data["actions"], active=data.get("active", True),
                        template=template, created_by=ctx.caller.user_id)
    _arm(workflow)
    ctx.session.add(workflow)
    ctx.session.flush()
    engine.changed(ctx.session)
    ctx.emit(c.WORKFLOW_CREATED, {"id": workflow.id, "changed_fields": []})
    return workflow


def get(ctx, record_id: str) -> Workflow:
    return _load(ctx, record_id)


def update(ctx, record_id: str, data: dict, expected_version: int | None = None) -> Workflow:
    workflow = _load(ctx, record_id)
    check_version(workflow, expected_version)
    definitions.check(data.get("trigger", workflow.trigger), data.get("conditions", workflow.conditions),
                      data.get("actions", workflow.actions))
    changed = [k for k in EDITABLE if k in data and data[k] != getattr(workflow, k)]
    for key in changed:
        setattr(workflow, key, data[key])
    if changed:
        _arm(workflow)
        ctx.session.flush()
        engine.changed(ctx.session)
        ctx.emit(c.WORKFLOW_UPDATED, {"id": workflow.id, "changed_fields": changed})
    return workflow


def delete(ctx, record_id: str, expected_version: int | None = None) -> None:
    workflow = _load(ctx, record_id)
    check_version(workflow, expected_version)
    workflow.deleted_at, workflow.active = clock.now(), False
    ctx.session.flush()
    engine.changed(ctx.session)
    ctx.emit(c.WORKFLOW_DELETED, {"id": workflow.id, "changed_fields": ["deleted_at"]})


def page(ctx, query: dict) -> dict:
    statement = select(Workflow).where(Workflow.deleted_at.is_(None))
    if query.get("active") is not None:
        statement = statement.where(Workflow.active.is_(query["active"]))
    if query.get("template"):
        statement = statement.where(Workflow.template == query["template"])
    if query.get("q"):
        statement = statement.where(Workflow.name.ilike(f"%{query['q']}%"))
    rows, cursor = paging.paginate(ctx.session, statement, Workflow, query["sort"], query["limit"],
                                   query.get("cursor"), c.WorkflowQuery.SORTABLE)
    return {"items": rows, "next_cursor": cursor}
