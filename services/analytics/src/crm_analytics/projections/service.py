"""Service desk events into the read models: tickets (times, SLA, reopens), surveys, complaints, the support
groups' members. A ticket is its assignee's own (as in the service desk): `owner_id` is the assignee; `created_by`
is who opened it (its ticket_opened's actor) and `group_id` its group, whose members read it with a team scope."""
from __future__ import annotations

from crm_analytics.projections.base import occurred, one, pick, remove, upsert, when

TICKET_FIELDS = ("number", "account_id", "contact_id", "group_id", "channel", "priority", "type", "status",
                 "sla_policy_id", "custom_fields")
TICKET_TIMES = ("first_responded_at", "solved_at", "closed_at")


def ticket_changed(s, env, data):
    values = {name: data[name] for name in TICKET_FIELDS if name in data}
    if "assignee_id" in data:
        values["owner_id"] = data["assignee_id"]
    for name in TICKET_TIMES:
        if name in data:
            values[name] = when(data[name])
    if env["type"] == OPENED:
        values["created_by"] = (env.get("actor") or {}).get("user_id")
    at = occurred(env)
    upsert(s, "tickets", {"id": data["id"]}, values, {"created_at": at, "reopened": 0}, at=at)


OPENED = "service_desk.ticket_opened.v1"


def ticket_reopened(s, env, data):
    ticket_changed(s, env, data)
    ticket = one(s, "tickets", data["id"])
    ticket["reopened"] = (ticket.get("reopened") or 0) + 1
    s.put("tickets", ticket)


def ticket_deleted(s, env, data):
    remove(s, "tickets", data["id"])


def sla_breached(s, env, data):
    column = "first_response_breached" if data.get("kind") == "first_response" else "resolution_breached"
    values = {column: True, **pick(data, "sla_policy_id", sla_policy_id="policy_id")}
    upsert(s, "tickets", {"id": data["id"]}, values, {"created_at": occurred(env), "reopened": 0})


def _of_ticket(s, ticket_id) -> dict:
    """The account and owner of a ticket, for the survey or complaint about it."""
    ticket = one(s, "tickets", ticket_id) if ticket_id else None
    return {k: ticket.get(k) for k in ("account_id", "owner_id", "team_id")} if ticket is not None else {}


def survey_answered(s, env, data):
    values = {**_of_ticket(s, data.get("ticket_id")),
              **pick(data, "ticket_id", "score", "contact_id"), "kind": data.get("kind") or "csat",
              "answered_at": occurred(env)}
    upsert(s, "surveys", {"id": data["id"]}, values)


def complaint_changed(s, env, data):
    values = {**_of_ticket(s, data.get("ticket_id")),
              **pick(data, "ticket_id", "status", "category", "root_cause", "on_time")}
    if "resolved_at" in data:
        values["resolved_at"] = when(data["resolved_at"])
    upsert(s, "complaints", {"id": data["id"]}, values, {"opened_at": occurred(env)})


def group_changed(s, env, data):
    """A support group's members as its latest config event lists them (other configuration: nothing here)."""
    if data.get("entity") != "group" or not isinstance(data.get("member_ids"), list):
        return
    group_id = str(data["id"])
    now = {str(user_id) for user_id in data["member_ids"] if user_id}
    for row in s.find("group_members", "group_id", group_id):
        if row["user_id"] not in now:
            s.remove("group_members", {"id": row["id"]})
        now.discard(row["user_id"])
    for user_id in now:
        s.put("group_members", {"id": f"{group_id}:{user_id}", "group_id": group_id, "user_id": user_id})


PROJECTORS = {f"service_desk.{name}.v1": fn for name, fn in dict(
    ticket_opened=ticket_changed, ticket_updated=ticket_changed, ticket_assigned=ticket_changed,
    ticket_first_response=ticket_changed, ticket_solved=ticket_changed, ticket_closed=ticket_changed,
    ticket_reopened=ticket_reopened, ticket_deleted=ticket_deleted, sla_breached=sla_breached,
    survey_answered=survey_answered, complaint_opened=complaint_changed, complaint_updated=complaint_changed,
    complaint_resolved=complaint_changed, config_created=group_changed, config_updated=group_changed,
    config_deleted=group_changed).items()}
