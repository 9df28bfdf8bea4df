"""nameko entrypoints of the automation service (crm_common.entrypoint: one per contract, the event table, timers)."""
from nameko.timer import timer

import crm_automation_contracts as c
from crm_common import config, service_base
from crm_common.dependencies import Database
from crm_common.entrypoint import entrypoint, run
from crm_common.service_base import KernelService
from crm_common.stream import event_stream

from crm_automation import handlers
from crm_automation.domain import approvals, bus, engine, executor, notifications, runs, templates, workflows
from crm_automation.models import Base

SWEEP_INTERVAL = config.env_float("CRM_AUTOMATION_SWEEP_INTERVAL", 0.5)
BUS = bus.Bus()  # one signed RPC pool per process: the owning services' methods, as the automation actor


class AutomationService(KernelService):
    name = "automation"
    db = Database(Base.metadata)
    # every event offered to the workflows; those that waited while a transaction ran are applied together
    on_event = event_stream(handlers.HANDLERS, every_batch=handlers.offer_to_workflows, batch=True)

    list_workflows = entrypoint(c.LIST_WORKFLOWS, workflows.page)
    create_workflow = entrypoint(c.CREATE_WORKFLOW, workflows.create)
    get_workflow = entrypoint(c.GET_WORKFLOW, workflows.get)
    update_workflow = entrypoint(c.UPDATE_WORKFLOW, workflows.update)
    delete_workflow = entrypoint(c.DELETE_WORKFLOW, workflows.delete)
    list_workflow_runs = entrypoint(c.LIST_WORKFLOW_RUNS, runs.of_workflow)
    list_runs = entrypoint(c.LIST_RUNS, runs.page)
    get_run = entrypoint(c.GET_RUN, runs.get)
    replay_run = entrypoint(c.REPLAY_RUN, runs.replay)
    list_templates = entrypoint(c.LIST_TEMPLATES, templates.listing)
    enable_template = entrypoint(c.ENABLE_TEMPLATE, templates.enable)

    list_notifications = entrypoint(c.LIST_NOTIFICATIONS, notifications.page)
    read_notification = entrypoint(c.READ_NOTIFICATION, notifications.read)
    read_all_notifications = entrypoint(c.READ_ALL_NOTIFICATIONS, notifications.read_all)
    get_notification_preferences = entrypoint(c.GET_NOTIFICATION_PREFERENCES, notifications.preferences)
    update_notification_preferences = entrypoint(c.UPDATE_NOTIFICATION_PREFERENCES, notifications.update_preferences)

    list_approvals = entrypoint(c.LIST_APPROVALS, approvals.page)
    get_approval = entrypoint(c.GET_APPROVAL, approvals.get)
    approve = entrypoint(c.APPROVE, approvals.approve)
    reject = entrypoint(c.REJECT, approvals.reject)
    set_delegation = entrypoint(c.SET_DELEGATION, approvals.set_delegation)

    def _transact(self, fn, *args):
        return run(self, fn, *args)

    @timer(interval=SWEEP_INTERVAL)
    @service_base.periodic("workflow run sweep")
    def sweep(self):
        """Runs that are due (new, retrying, back from a wait, or left by a dead worker) are executed."""
        run(self, engine.fire_schedules)
        while executor.sweep(self._transact, BUS) == executor.SWEEP_BATCH:  # one session per worker: in turn
            pass

    @timer(interval=config.env_float("CRM_AUTOMATION_MAIL_INTERVAL", 2.0))
    @service_base.periodic("notification mail")
    def mail(self):
        """Approvals pending too long are reminded or escalated; notifications wanted by email go out through the one SMTP mailer (digests when their time came)."""
        run(self, approvals.remind_and_escalate)
        notifications.mail_due(self._transact)
