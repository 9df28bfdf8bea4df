"""What each action does. Remote ones (update_record, create_task, assign, send_email, call_webhook) run
outside any transaction of ours, through the owning service's RPC, the mailer or HTTP; local ones (notify,
start_approval) run inside the transaction that records the step."""
from __future__ import annotations

import json
from datetime import timedelta

from crm_common import urlguard
from crm_common.envelope import rfc3339
from crm_automation import clock
from crm_automation.domain import notifications, render, targets
from crm_automation.models import RoundRobin

LOCAL = ("notify", "start_approval")
WEBHOOK_TIMEOUT = 10.0


class ActionFailed(Exception):
    """An action did not do its work; the message goes into the run log."""


def view(run) -> dict:
    """What an action's texts may name: record, previous, changed_fields, event, run."""
    return {**run.context, "run": {"id": run.id, "workflow_id": run.workflow_id, "depth": run.depth}}


def _record_target(action: dict, plan: dict) -> tuple[str, str]:
    resource = action.get("resource") or plan["resource"]
    record_id = render.render(action.get("record_id"), plan["view"]) or plan["record_id"]
    if resource not in targets.RESOURCES or not record_id:
        raise ActionFailed(f"no record to act on (resource {resource!r})")
    return resource, record_id


def perform(bus, action: dict, plan: dict) -> dict:
    """Do a remote action; its outcome for the run log, or ActionFailed/ServiceError."""
    kind = action["type"]
    view_ = plan["view"]
    if kind == "update_record":
        resource, record_id = _record_target(action, plan)
        service, _, method, _ = targets.RESOURCES[resource]
        fields = render.render(action["fields"], view_)
        bus.call(service, method, fields, record_id=record_id, request=plan["request_id"])
        return {"resource": resource, "record_id": record_id, "fields": sorted(fields)}
    if kind == "assign":
        resource, record_id = _record_target(action, plan)
        service, _, method, owner = targets.RESOURCES[resource]
        field = action.get("field") or owner
        bus.call(service, method, {field: plan["assignee"]}, record_id=record_id, request=plan["request_id"])
        return {"resource": resource, "record_id": record_id, "assigned_to": plan["assignee"], "field": field}
    if kind == "create_task":
        return _create_task(bus, action, plan)
    if kind == "create_record":
        service, method = targets.CREATABLE[action["resource"]]
        fields = {k: v for k, v in render.render(action["fields"], view_).items() if v not in (None, "")}
        created = bus.call(service, method, fields, request=plan["request_id"])
        return {"resource": action["resource"], "record_id": created.get("id") if isinstance(created, dict) else None}
    if kind == "send_email":
        to = render.render(action["to"], view_).strip()
        if "@" not in to:
            raise ActionFailed(f"no address to send to ({action['to']!r} gave {to!r})")
        [(_, status)] = notifications.send([{"ids": [], "to": to, "subject": render.render(action["subject"], view_),
                                             "body": render.render(action["body"], view_)}])
        if status != "sent":  # refused by the mail server: the step's error (retried, then parked)
            raise ActionFailed(f"the mail server refused the message to {to} ({status})")
        return {"to": to}
    if kind == "call_webhook":
        body = json.dumps({"workflow_id": plan["workflow_id"], "run_id": plan["run_id"], "record": view_["record"],
                           "event": view_["event"]}, default=str).encode()
        return _post(action["url"], body)
    raise ActionFailed(f"{kind} is not a remote action")


def _post(url: str, body: bytes) -> dict:
    """POST to a URL the address guard allows (crm_common.urlguard: never the suite's own network unless an
    administrator lists the host in CRM_WEBHOOK_ALLOW_HOSTS); redirects are not followed. A refusal or any
    answer but 2xx is the step's error (retried, then parked); the URL never goes into the run log."""
    try:
        target = urlguard.check(url)
    except urlguard.UnsafeUrl as exc:
        raise ActionFailed(f"the webhook URL is refused: {exc}") from None
    conn = urlguard.connect(target, WEBHOOK_TIMEOUT)
    try:
        conn.request("POST", target.path, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read(64 * 1024)
    except Exception as exc:  # connection refused, reset, timeout, TLS: the attempt failed
        raise ActionFailed(f"the webhook could not be called ({type(exc).__name__})") from None
    finally:
        conn.close()
    if not 200 <= response.status < 300:
        raise ActionFailed(f"the webhook answered {response.status}")
    return {"status": response.status}


def _create_task(bus, action: dict, plan: dict) -> dict:
    view_ = plan["view"]
    record = view_.get("record") or {}
    resource = plan["resource"]
    due = clock.now() + timedelta(days=action.get("due_in_days", 0), hours=action.get("due_in_hours", 0))
    owner = action.get("owner_id") or record.get(targets.owner_field(resource)) or record.get("owner_id")
    payload = {"type": action.get("task_type", "task"), "subject": render.render(action["subject"], view_)[:300]}
    if action.get("description"):
        payload["description"] = render.render(action["description"], view_)
    if payload["type"] in ("task", "call"):
        payload["due_at"] = rfc3339(due)
    if owner:
        payload["owner_id"] = owner
    link = targets.TASK_LINKS.get(resource)
    if link and plan["record_id"]:
        payload[link] = plan["record_id"]
    if resource != "account" and record.get("account_id"):
        payload["account_id"] = record["account_id"]
    created = bus.call("sales", "create_activity", payload, request=plan["request_id"])
    return {"activity_id": created.get("id") if isinstance(created, dict) else None, "owner_id": owner,
            "due_at": payload.get("due_at")}


def next_in_turn(session, key: str, users: list[str]) -> str:
    """Round-robin: the next of `users` for this key (a workflow's action)."""
    row = session.get(RoundRobin, key)
    if row is None:
        row = RoundRobin(key=key, position=0)
        session.add(row)
    chosen = users[row.position % len(users)]
    row.position = (row.position + 1) % len(users)
    return chosen


def perform_local(ctx, run, action: dict) -> dict:
    kind = action["type"]
    view_ = view(run)
    if kind == "notify":
        record = view_.get("record") or {}
        users = list(action.get("users") or [])
        if action.get("to_owner"):
            users.append(record.get(targets.owner_field(run.resource)) or record.get("owner_id"))
        if action.get("role"):
            users.extend(notifications.users_with_role(ctx, action["role"]))
        made = notifications.notify(ctx, users, action.get("kind", "workflow"), render.render(action["title"], view_),
                                    render.render(action.get("body"), view_), render.render(action.get("link"), view_),
                                    run.resource, run.record_id)
        if not made:
            return {"notified": [], "note": "nobody to notify (or nobody wants it)"}
        return {"notified": sorted(n.user_id for n in made)}
    if kind == "start_approval":
        from crm_automation.domain import approvals
        approval = approvals.start_from_workflow(ctx, run, action)
        return {"approval_id": approval.id}
    raise ActionFailed(f"{kind} is not a local action")

