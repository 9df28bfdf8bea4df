"""Built-in templates a company switches on: each is a workflow definition; switching one on makes that
workflow (once: switching on again gives the same workflow, active again)."""
from __future__ import annotations

from sqlalchemy import select

from crm_common.errors import ServiceError
from crm_automation.domain import workflows
from crm_automation.models import Workflow

CLOSED = ["closed_won", "closed_lost"]


def _new_lead(options: dict) -> dict:
    actions = []
    if options.get("users"):
        actions.append({"type": "assign", "users": options["users"]})
    actions.append({"type": "create_task", "due_in_days": 1,
                    "subject": "Follow up {{ [record.first_name, record.last_name] | select | join(' ') }}"
                               "{% if record.company %} ({{ record.company }}){% endif %}"})
    return {"trigger": {"type": "event", "event": "sales.lead_created.v1"}, "actions": actions}


TEMPLATES = {
    "new_lead_follow_up": ("New lead: assign and follow up",
                           "A new lead goes to the next person in turn (when people are given) and gets a "
                           "follow-up task due in one day.", _new_lead),
    "opportunity_idle": ("Idle opportunity: tell the owner",
                         "An open opportunity nobody touched for 14 days: its owner is notified.",
                         lambda o: {"trigger": {"type": "field_change", "resource": "opportunity", "field": "*"},
                                    "conditions": {"all": [{"field": "stage", "op": "not_in", "value": CLOSED}]},
                                    "actions": [{"type": "wait", "days": 14},
                                                {"type": "notify", "to_owner": True, "kind": "reminder",
                                                 "title": "{{ record.name }} has been idle for 14 days"}],
                                    "recheck": {"all": [{"field": "updated_at", "op": "unchanged"},
                                                        {"field": "stage", "op": "not_in", "value": CLOSED}]}}),
    "complaint_notify_manager": ("Complaint: tell the service managers at once",
                                 "A complaint received notifies every support manager.",
                                 lambda o: {"trigger": {"type": "event", "event": "service_desk.complaint_opened.v1"},
                                            "actions": [{"type": "notify", "role": "support_manager",
                                                         "kind": "complaint", "title": "A complaint was received",
                                                         "body": "Category: {{ record.category }}"}]}),
    "ticket_solved_note": ("Ticket solved: a note on the account",
                           "A solved ticket with an account leaves a note on the account (the survey goes out as "
                           "always).",
                           lambda o: {"trigger": {"type": "event", "event": "service_desk.ticket_solved.v1"},
                                      "conditions": {"all": [{"field": "account_id", "op": "not_empty"}]},
                                      "actions": [{"type": "create_task", "task_type": "note",
                                                   "subject": "Ticket {{ record.number }} was solved"}]}),
    "contract_renewal": ("Contract ending: a renewal opportunity",
                         "A contract that ends within 60 days gets a renewal opportunity on its account.",
                         lambda o: {"trigger": {"type": "event", "event": "sales.contract_expiring.v1"},
                                    "conditions": {"all": [{"field": "account_id", "op": "not_empty"}]},
                                    "actions": [{"type": "create_record", "resource": "opportunity",
                                                 "fields": {"name": "Renewal of contract ending {{ record.ends_on }}",
                                                            "account_id": "{{ record.account_id }}",
                                                            "amount": "{{ record.value }}",
                                                            "currency": "{{ record.currency }}",
                                                            "expected_close_date": "{{ record.ends_on }}",
                                                            "stage": "prospecting"}}]}),
}


def listing(ctx) -> dict:
    made = {w.template: w.id for w in ctx.session.scalars(select(Workflow).where(
        Workflow.template.is_not(None), Workflow.deleted_at.is_(None)))}
    return {"items": [{"key": key, "name": name, "description": text, "workflow_id": made.get(key)}
                      for key, (name, text, _) in TEMPLATES.items()]}


def enable(ctx, data: dict, key: str) -> Workflow:
    if key not in TEMPLATES:
        raise ServiceError("not_found", "no such template")
    name, text, build = TEMPLATES[key]
    definition = build(data)
    existing = ctx.session.scalars(select(Workflow).where(Workflow.template == key,
                                                          Workflow.deleted_at.is_(None))).first()
    body = {"name": name, "description": text, "trigger": definition["trigger"],
            "conditions": definition.get("recheck") or definition.get("conditions"),
            "actions": definition["actions"], "active": data.get("active", True)}
    if existing is not None:
        return workflows.update(ctx, existing.id, body)
    return workflows.create(ctx, body, template=key)
