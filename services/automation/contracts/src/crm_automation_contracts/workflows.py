"""Workflows and their run log: the shapes of the routes under /api/v1/workflows and the run events.

Shape only (types, lengths, enums); what a trigger, a condition or an action must hold beyond its shape is
checked by the domain (crm_automation.domain.definitions) and refused with a 422 naming the field.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Boolean, Text, Timestamp
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import ListQuery, Patch, Record, Strict, page

TRIGGER_TYPES = ("event", "field_change", "schedule")
ACTION_TYPES = ("update_record", "create_record", "create_task", "assign", "notify", "send_email", "call_webhook",
                "start_approval", "wait")
RUN_STATUSES = ("queued", "running", "waiting", "succeeded", "failed", "stopped", "skipped")
DEFINITION_RULES = (
    "trigger: {type: event, event} | {type: field_change, resource, field, from?, to?} | "
    "{type: schedule, cron (5 fields), timezone}",
    "conditions: {all | any: [{field, op, value} | nested]}; op one of eq, ne, gt, gte, lt, lte, in, not_in, "
    "contains, empty, not_empty, changed, unchanged",
    "actions: each {type, ...}; the parameters each type takes are listed in the service's README",
)


class WorkflowFields(Strict):
    RULES = DEFINITION_RULES

    name = Text(validate=validate.Length(min=1, max=200))
    description = Text(allow_none=True, validate=validate.Length(max=2000))
    trigger = fields.Dict(metadata={"description": DEFINITION_RULES[0]})
    conditions = fields.Dict(allow_none=True, metadata={"description": DEFINITION_RULES[1]})
    actions = fields.List(fields.Dict(), validate=validate.Length(min=1, max=20),
                          metadata={"description": DEFINITION_RULES[2]})
    active = Boolean()


class WorkflowCreate(WorkflowFields):
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    trigger = fields.Dict(required=True, metadata={"description": DEFINITION_RULES[0]})
    actions = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1, max=20),
                          metadata={"description": DEFINITION_RULES[2]})
    active = Boolean(load_default=True)


class WorkflowUpdate(WorkflowFields, Patch):
    pass


class Workflow(Record):
    name = fields.String()
    description = fields.String(allow_none=True)
    trigger = fields.Dict()
    conditions = fields.Dict(allow_none=True)
    actions = fields.List(fields.Dict())
    active = fields.Boolean()
    template = fields.String(allow_none=True, metadata={"description": "the built-in template it came from"})
    created_by = fields.String(allow_none=True)


class WorkflowQuery(ListQuery):
    SORTABLE = ("created_at", "name")
    active = fields.Boolean()
    template = Text(validate=validate.Length(max=100))


class WorkflowStep(Schema):
    index = fields.Integer()
    action = fields.String()
    status = fields.String(metadata={"description": "succeeded, failed, skipped, waiting or retrying"})
    outcome = fields.Dict(allow_none=True)
    error = fields.String(allow_none=True)
    attempts = fields.Integer()
    duration_ms = fields.Integer(allow_none=True)
    at = Timestamp(allow_none=True)


class WorkflowConditionResult(Schema):
    field = fields.String(allow_none=True)
    op = fields.String(allow_none=True)
    value = fields.Raw(allow_none=True)
    actual = fields.Raw(allow_none=True)
    result = fields.Boolean()


class WorkflowRun(Schema):
    class Meta:
        ordered = True

    id = fields.String(required=True)
    workflow_id = fields.String()
    workflow_version = fields.Integer()
    trigger_event_id = fields.String(allow_none=True)
    trigger_type = fields.String(allow_none=True, metadata={"description": "the event type, or schedule"})
    resource = fields.String(allow_none=True)
    record_id = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(RUN_STATUSES))
    depth = fields.Integer(metadata={"description": "how many workflow changes led to this run (stops past 5)"})
    conditions = fields.List(fields.Nested(WorkflowConditionResult))
    conditions_met = fields.Boolean(allow_none=True)
    steps = fields.List(fields.Nested(WorkflowStep))
    log = fields.List(fields.String(), metadata={"description": "why the run did, or did not, do its work"})
    error = fields.String(allow_none=True)
    due_at = Timestamp(allow_none=True, metadata={"description": "a waiting run resumes then"})
    started_at = Timestamp()
    finished_at = Timestamp(allow_none=True)
    duration_ms = fields.Integer(allow_none=True)


class WorkflowRunQuery(ListQuery):
    SORTABLE = ("created_at",)
    status = fields.String(validate=validate.OneOf(RUN_STATUSES))
    record_id = Text(validate=validate.Length(max=64))


class WorkflowRunsQuery(WorkflowRunQuery):
    workflow_id = Text(validate=validate.Length(max=64))


class WorkflowTemplate(Schema):
    key = fields.String()
    name = fields.String()
    description = fields.String()
    workflow_id = fields.String(allow_none=True, metadata={"description": "the workflow made from it, if on"})


class WorkflowTemplateOptions(Strict):
    users = fields.List(Text(validate=validate.Length(min=1, max=64)), validate=validate.Length(min=1, max=100),
                        metadata={"description": "new lead template: the people new leads go to in turn"})
    active = Boolean(load_default=True)


class WorkflowTemplateList(Schema):
    items = fields.List(fields.Nested(WorkflowTemplate))


class WorkflowRunFinishedData(Schema):
    id = fields.String(required=True)
    workflow_id = fields.String(required=True)
    status = fields.String(required=True)
    record_id = fields.String(allow_none=True)


class WorkflowEventData(Schema):
    id = fields.String(required=True)
    changed_fields = fields.List(fields.String())


WORKFLOW_CREATED = event("automation", "workflow_created", 1, WorkflowEventData, "A workflow was defined.",
                         entity="workflow", action="create")
WORKFLOW_UPDATED = event("automation", "workflow_updated", 1, WorkflowEventData, "A workflow changed.",
                         entity="workflow", action="update")
WORKFLOW_DELETED = event("automation", "workflow_deleted", 1, WorkflowEventData, "A workflow was deleted.",
                         entity="workflow", action="delete")
WORKFLOW_RUN_FINISHED = event("automation", "workflow_run_finished", 1, WorkflowRunFinishedData,
                              "A workflow run ended (succeeded, failed and parked; a run skipped on its conditions is only logged).",
                              entity="workflow_run", action="update")

LIST_WORKFLOWS = rpc("automation", "list_workflows", WorkflowQuery, page(Workflow, "WorkflowPage"),
                     permission=("workflow", "read"))
CREATE_WORKFLOW = rpc("automation", "create_workflow", WorkflowCreate, Workflow, permission=("workflow", "create"))
GET_WORKFLOW = rpc("automation", "get_workflow", None, Workflow, permission=("workflow", "read"), record=True)
UPDATE_WORKFLOW = rpc("automation", "update_workflow", WorkflowUpdate, Workflow, permission=("workflow", "update"),
                      record=True)
DELETE_WORKFLOW = rpc("automation", "delete_workflow", None, None, permission=("workflow", "delete"), record=True)
LIST_WORKFLOW_RUNS = rpc("automation", "list_workflow_runs", WorkflowRunQuery, page(WorkflowRun, "WorkflowRunPage"),
                         permission=("workflow", "read"), record=True,
                         description="A workflow's runs, newest first: trigger, each condition's result, each "
                                     "action's outcome, duration and error.")
LIST_RUNS = rpc("automation", "list_runs", WorkflowRunsQuery, page(WorkflowRun, "RunPage"), permission=("workflow", "read"),
                description="Every workflow's runs, filtered by workflow, record and outcome.")
GET_RUN = rpc("automation", "get_run", None, WorkflowRun, permission=("workflow", "read"), record=True)
REPLAY_RUN = rpc("automation", "replay_run", None, WorkflowRun, permission=("workflow", "update"), record=True,
                 description="A failed (parked) run again from the step that failed, with the workflow version "
                             "that ran.")
LIST_TEMPLATES = rpc("automation", "list_templates", None, WorkflowTemplateList, permission=("workflow", "read"))
ENABLE_TEMPLATE = rpc("automation", "enable_template", WorkflowTemplateOptions, Workflow, permission=("workflow", "create"),
                      description="Switch a built-in template on: the workflow it defines, active.")
