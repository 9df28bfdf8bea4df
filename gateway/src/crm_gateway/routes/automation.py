"""Routes of the automation context: workflows and their run log, built-in templates, the caller's
notifications and preferences (self-service: a user reads and marks only their own)."""
import crm_automation_contracts as c
from crm_gateway.conventions import SELF_SERVICE, Route, build, resource

ROUTES = [
    *resource("workflows", c.LIST_WORKFLOWS, c.CREATE_WORKFLOW, c.GET_WORKFLOW, c.UPDATE_WORKFLOW, c.DELETE_WORKFLOW),
    Route("GET", "/workflows/<id>/runs", c.LIST_WORKFLOW_RUNS),
    Route("GET", "/workflow-runs", c.LIST_RUNS),
    Route("GET", "/workflow-runs/<id>", c.GET_RUN),
    Route("POST", "/workflow-runs/<id>/replay", c.REPLAY_RUN),
    Route("GET", "/workflow-templates", c.LIST_TEMPLATES),
    Route("POST", "/workflow-templates/<string:key>/enable", c.ENABLE_TEMPLATE, 201, location=""),
    Route("GET", "/notifications", c.LIST_NOTIFICATIONS, access=SELF_SERVICE),
    Route("POST", "/notifications/read-all", c.READ_ALL_NOTIFICATIONS, access=SELF_SERVICE),
    Route("POST", "/notifications/<id>/read", c.READ_NOTIFICATION, access=SELF_SERVICE),
    Route("GET", "/notification-preferences", c.GET_NOTIFICATION_PREFERENCES, access=SELF_SERVICE),
    Route("PUT", "/notification-preferences", c.UPDATE_NOTIFICATION_PREFERENCES, access=SELF_SERVICE),
    # approvals: self-service (the service shows an approval to its requester and approvers only, and lets only
    # the current step's approvers or their delegates decide)
    Route("GET", "/approvals", c.LIST_APPROVALS, access=SELF_SERVICE),
    Route("GET", "/approvals/<id>", c.GET_APPROVAL, access=SELF_SERVICE),
    Route("POST", "/approvals/<id>/approve", c.APPROVE, access=SELF_SERVICE,
          answers={403: "not an approver of the current step", 409: "decided already"}),
    Route("POST", "/approvals/<id>/reject", c.REJECT, access=SELF_SERVICE,
          answers={403: "not an approver of the current step", 409: "decided already"}),
    Route("PUT", "/approval-delegation", c.SET_DELEGATION, access=SELF_SERVICE),
]
blueprints = build("automation", ROUTES)
