"""What a workflow definition must hold beyond its shape: its trigger, its conditions and each action's
parameters. Every problem is a 422 naming the field (`trigger.event`, `actions.0.fields`, ...)."""
from __future__ import annotations

from urllib.parse import urlsplit

from crm_common.errors import ServiceError
from crm_automation.domain import conditions as conds, schedule
from crm_automation.domain import targets
from crm_automation.domain.targets import RESOURCES
from crm_automation_contracts.notifications import KINDS

WAIT_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
RECIPIENT_KEYS = ("users", "to_owner", "role")


def validation(errors: dict) -> ServiceError:
    return ServiceError("validation_failed", "the workflow definition is not valid", errors=errors)


def check(trigger: dict, conditions: dict | None, actions: list) -> None:
    errors: dict = {}
    errors.update(trigger_errors(trigger))
    errors.update(conds.errors(conditions))
    for i, action in enumerate(actions):
        errors.update(action_errors(action, f"actions.{i}"))
    if errors:
        raise validation(errors)


def listens_to(trigger: dict) -> str:
    if trigger["type"] == "event":
        return trigger["event"]
    if trigger["type"] == "field_change":
        return f"entity:{trigger['resource']}"
    return "schedule"


def trigger_errors(trigger) -> dict:
    if not isinstance(trigger, dict) or trigger.get("type") not in ("event", "field_change", "schedule"):
        return {"trigger.type": ["must be event, field_change or schedule"]}
    kind = trigger["type"]
    allowed = {"event": {"type", "event"}, "field_change": {"type", "resource", "field", "from", "to"},
               "schedule": {"type", "cron", "timezone"}}[kind]
    extra = set(trigger) - allowed
    if extra:
        return {"trigger": [f"a {kind} trigger takes no {', '.join(sorted(extra))}"]}
    if kind == "event":
        name = trigger.get("event")
        if not isinstance(name, str) or name.count(".") != 2 or not name.split(".")[2].startswith("v"):
            return {"trigger.event": ["an event type such as sales.lead_created.v1"]}
    elif kind == "field_change":
        if trigger.get("resource") not in RESOURCES:
            return {"trigger.resource": [f"must be one of {', '.join(sorted(RESOURCES))}"]}
        if not isinstance(trigger.get("field"), str) or not trigger["field"]:
            return {"trigger.field": ["the field that changes"]}
    else:
        try:
            schedule.parse(trigger.get("cron"))
        except ValueError as exc:
            return {"trigger.cron": [str(exc)]}
        try:
            schedule.zone(trigger.get("timezone"))
        except ValueError as exc:
            return {"trigger.timezone": [str(exc)]}
    return {}


def _text(action: dict, key: str, where: str, required: bool = True, limit: int = 2000) -> dict:
    value = action.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        return {f"{where}.{key}": [f"a text of 1 to {limit} characters"]}
    return {}


def _recipients(action: dict, where: str) -> dict:
    if not any(action.get(k) for k in RECIPIENT_KEYS):
        return {where: ["name who: users (ids), to_owner: true or role"]}
    users = action.get("users")
    if users is not None and (not isinstance(users, list) or not all(isinstance(u, str) and u for u in users)):
        return {f"{where}.users": ["a list of user ids"]}
    return {}


def action_errors(action, where: str) -> dict:
    if not isinstance(action, dict):
        return {where: ["an action is an object {type, ...}"]}
    kind = action.get("type")
    if kind == "update_record":
        fields = action.get("fields")
        if not isinstance(fields, dict) or not fields:
            return {f"{where}.fields": ["the fields to set, {name: value}"]}
        return {}
    if kind == "create_record":
        if action.get("resource") not in targets.CREATABLE:
            return {f"{where}.resource": [f"must be one of {', '.join(targets.CREATABLE)}"]}
        if not isinstance(action.get("fields"), dict) or not action["fields"]:
            return {f"{where}.fields": ["the new record's fields, {name: value}"]}
        return {}
    if kind == "create_task":
        found = _text(action, "subject", where, limit=300)
        if action.get("task_type", "task") not in ("task", "call", "note", "meeting"):
            found[f"{where}.task_type"] = ["task, call, note or meeting"]
        for key in ("due_in_days", "due_in_hours"):
            if key in action and (not isinstance(action[key], (int, float)) or isinstance(action[key], bool)
                                  or not 0 <= action[key] <= 3650):
                found[f"{where}.{key}"] = ["a number from 0 to 3650"]
        return found
    if kind == "assign":
        users, team = action.get("users"), action.get("team")
        if team is not None:  # the team's active members in turn, as they are when the step runs
            if users is not None or not isinstance(team, str) or not team.strip() or len(team) > 64:
                return {f"{where}.team": ["a team id (its active members are taken in turn), instead of users"]}
            return {}
        if not isinstance(users, list) or not users or not all(isinstance(u, str) and u for u in users):
            return {f"{where}.users": ["the user ids taken in turn (round-robin), or team: a team id"]}
        return {}
    if kind == "notify":
        found = _recipients(action, where) or _text(action, "title", where, limit=300)
        found.update(_text(action, "body", where, required=False))
        if action.get("kind", "workflow") not in KINDS:
            found[f"{where}.kind"] = [f"one of {', '.join(KINDS)}"]
        return found
    if kind == "send_email":
        found = _text(action, "to", where, limit=320) or {}
        found.update(_text(action, "subject", where, limit=300))
        found.update(_text(action, "body", where, limit=20000))
        return found
    if kind == "call_webhook":
        url = action.get("url")
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
            return {f"{where}.url": ["an http or https URL"]}
        return {}
    if kind == "start_approval":
        found = {}
        steps = action.get("steps")
        if not isinstance(steps, list) or not steps:
            found[f"{where}.steps"] = ["the chain: [{approver: manager} | {approver_id} | {role}]"]
        return found
    if kind == "wait":
        units = [u for u in WAIT_UNITS if u in action]
        if len(units) != 1 or not isinstance(action[units[0]], (int, float)) or isinstance(action[units[0]], bool) \
                or not 0 < action[units[0]] * WAIT_UNITS[units[0]] <= 366 * 86400:
            return {where: ["one of seconds, minutes, hours or days: a positive number (a year at most)"]}
        return {}
    return {f"{where}.type": ["must be one of update_record, create_record, create_task, assign, notify, send_email, "
                              "call_webhook, start_approval, wait"]}


def wait_seconds(action: dict) -> float:
    return sum(float(action[u]) * s for u, s in WAIT_UNITS.items() if u in action)
