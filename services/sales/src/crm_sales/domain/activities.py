"""Activities (calls, meetings, tasks, notes), meeting conflicts, reminders, the calendar."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select

import crm_sales_contracts as c
from crm_common import scope
from crm_common.errors import ServiceError, not_found, validation
from crm_sales.domain import records, users
from crm_sales.models import Account, Activity, Contact, Lead, Opportunity, SalesUser

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

EDITABLE = ("subject", "description", "starts_at", "ends_at", "due_at", "remind_at", "owner_id", "participant_ids",
            "lead_id", "account_id", "contact_id", "opportunity_id", "status", "outcome", "duration_seconds",
            "callback_at")
LINKS = (("lead_id", "lead", Lead), ("account_id", "account", Account), ("contact_id", "contact", Contact),
         ("opportunity_id", "opportunity", Opportunity))
SEARCH = (Activity.subject,)
REMINDED = ("call", "meeting", "task")  # the types that may have a reminder
get = records.reader("activity", Activity)
page = records.lister("activity", Activity, c.ActivityFilters.SORTABLE, SEARCH)
delete = records.deleter("activity", Activity)


def event_data(activity: Activity) -> dict:
    return {"id": activity.id, "type": activity.type, "subject": activity.subject, "owner_id": activity.owner_id,
            "lead_id": activity.lead_id, "account_id": activity.account_id, "contact_id": activity.contact_id,
            "opportunity_id": activity.opportunity_id, "status": activity.status, "outcome": activity.outcome,
            "starts_at": records.timestamp(activity.starts_at)}


def _check_shape(activity: Activity) -> None:
    errors = {}
    if activity.type == "meeting":
        if not activity.starts_at or not activity.ends_at:
            errors["starts_at"] = ["a meeting has starts_at and ends_at"]
        elif activity.ends_at <= activity.starts_at:
            errors["ends_at"] = ["ends after it starts"]
    if activity.type == "task" and not activity.due_at:
        errors["due_at"] = ["a task has a due date"]
    if activity.type != "call" and (activity.outcome or activity.duration_seconds or activity.callback_at):
        errors["outcome"] = ["outcome, duration and callback are for calls"]
    if activity.starts_at and activity.ends_at and activity.ends_at < activity.starts_at:
        errors["ends_at"] = ["ends after it starts"]
    if activity.remind_at and activity.type not in REMINDED:
        errors["remind_at"] = ["reminders are for calls, meetings and tasks"]
    if errors:
        raise validation(errors)


def _check_links(ctx: Context, data: dict) -> None:
    for field, resource, model in LINKS:
        if data.get(field):
            records.load(ctx, resource, model, data[field], what=resource)


def conflicts(ctx: Context, activity: Activity) -> list[dict]:
    """Other live meetings overlapping this one that share a participant (the owner counts as one)."""
    if activity.type != "meeting" or activity.status == "cancelled":
        return []
    people = set(activity.participant_ids or []) | ({activity.owner_id} if activity.owner_id else set())
    query = select(Activity).where(Activity.type == "meeting", Activity.status != "cancelled",
                                   Activity.deleted_at.is_(None), Activity.starts_at < activity.ends_at,
                                   Activity.ends_at > activity.starts_at)
    if activity.id:
        query = query.where(Activity.id != activity.id)
    clashes = []
    for other in ctx.session.execute(query.order_by(Activity.starts_at)).scalars():
        shared = people & (set(other.participant_ids or []) | ({other.owner_id} if other.owner_id else set()))
        if shared:
            visible = scope.allows(ctx.caller, "activity", "read", other)
            clashes.append({"id": other.id, "subject": other.subject if visible else None,
                            "starts_at": records.timestamp(other.starts_at),
                            "ends_at": records.timestamp(other.ends_at),
                            "participant_ids": sorted(shared)})
    return clashes


def _no_clash(ctx: Context, activity: Activity, allow: bool) -> None:
    found = conflicts(ctx, activity)
    if found and not allow:
        raise ServiceError("conflict", "the meeting overlaps another of the same participant; send "
                           "allow_conflict: true to book it anyway", extra={"conflicts": found})


def create(ctx: Context, data: dict) -> Activity:
    session, actor = ctx.session, ctx.caller
    data = dict(data)
    allow = data.pop("allow_conflict", False)
    owner_id = data.get("owner_id") or actor.user_id
    if owner_id != actor.user_id and not actor.can("activity", "assign"):
        raise validation({"owner_id": ["your role may not plan activities for others"]})
    _check_links(ctx, data)
    activity = Activity(**{k: data.get(k) for k in EDITABLE if k not in ("owner_id", "participant_ids", "status")})
    activity.type = data["type"]
    activity.status = data.get("status") or ("done" if data["type"] in ("note",) else "open")
    activity.participant_ids = sorted(set(data.get("participant_ids") or []) | {owner_id} - {None})
    activity.owner_id, activity.team_id = owner_id, users.team_of(session, owner_id, actor)
    if activity.account_id:
        account = session.get(Account, activity.account_id)
        activity.territory_id = account.territory_id if account else None
    _check_shape(activity)
    _no_clash(ctx, activity, allow)
    session.add(activity)
    session.flush()
    ctx.emit(c.ACTIVITY_LOGGED, event_data(activity))
    if activity.type == "call" and activity.callback_at:
        follow_up(ctx, activity)
    return activity


def follow_up(ctx: Context, call: Activity) -> Activity:
    """A callback asked for on a call: a planned call at that time for the same owner and people."""
    planned = Activity(type="call", subject=f"Call back: {call.subject}"[:300], starts_at=call.callback_at,
                       due_at=call.callback_at, remind_at=call.callback_at, owner_id=call.owner_id,
                       team_id=call.team_id, territory_id=call.territory_id, participant_ids=list(call.participant_ids),
                       lead_id=call.lead_id, account_id=call.account_id, contact_id=call.contact_id,
                       opportunity_id=call.opportunity_id, call_list_id=call.call_list_id, status="open")
    ctx.session.add(planned)
    ctx.session.flush()
    ctx.emit(c.ACTIVITY_LOGGED, event_data(planned))
    return planned


def update(ctx: Context, record_id: str, data: dict, expected_version: int | None = None) -> Activity:
    session, actor = ctx.session, ctx.caller
    activity = records.load_for_update(ctx, "activity", Activity, record_id, expected_version)
    data = dict(data)
    allow = data.pop("allow_conflict", False)
    if "owner_id" in data and data["owner_id"] != activity.owner_id and not actor.can("activity", "assign"):
        raise validation({"owner_id": ["your role may not plan activities for others"]})
    _check_links(ctx, {k: v for k, v in data.items() if v != getattr(activity, k, None)})
    if "participant_ids" in data:
        data["participant_ids"] = sorted(set(data["participant_ids"]) | {data.get("owner_id") or activity.owner_id}
                                         - {None})
    had_callback = activity.callback_at
    changed = records.apply(activity, data, EDITABLE)
    _check_shape(activity)
    if {"starts_at", "ends_at", "participant_ids", "status"} & set(changed):
        _no_clash(ctx, activity, allow)
    if "owner_id" in changed:
        activity.team_id = users.team_of(session, activity.owner_id, actor)
    if "remind_at" in changed:  # a moved reminder goes out again at its new time
        activity.reminded_at = None
    session.flush()
    records.changed(ctx, "activity", activity.id, "update", changed)
    if activity.type == "call" and activity.callback_at and activity.callback_at != had_callback:
        follow_up(ctx, activity)
    return activity


def send_due_reminders(ctx: Context, now: datetime, limit: int = 500) -> int:
    """Open activities whose reminder time has come are marked reminded and announced, once each (one batch of
    `limit`; returns how many). Replicas scanning at once skip each other's rows on PostgreSQL; SQLite has one
    writer at a time."""
    query = (select(Activity).where(Activity.reminded_at.is_(None), Activity.remind_at <= now,
                                    Activity.status == "open", Activity.deleted_at.is_(None),
                                    Activity.type.in_(REMINDED))
             .order_by(Activity.remind_at).limit(limit))
    session = ctx.session
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    due = session.execute(query).scalars().all()
    for activity in due:
        activity.reminded_at = now
        ctx.emit(c.ACTIVITY_REMINDER_DUE, {**event_data(activity), "due_at": records.timestamp(activity.due_at),
                                           "remind_at": records.timestamp(activity.remind_at)})
    session.flush()
    return len(due)


def calendar(ctx: Context, query: dict) -> dict:
    """Activities in [from, to) of one user (default: the caller) or a team: owned or taking part."""
    session, actor = ctx.session, ctx.caller
    if not (query["from"] < query["to"] and (query["to"] - query["from"]).days <= 366):
        raise validation({"to": ["to is after from, within a year"]})
    team_id, user_id = query.get("team_id"), query.get("user_id")
    if team_id:
        people = set(users.team_members(session, team_id))
        allowed = actor.scope("activity", "read") == "all" or (
            actor.scope("activity", "read") == "team" and actor.team_id == team_id)
    else:
        user_id = user_id or actor.user_id
        people = {user_id}
        member = session.get(SalesUser, user_id) if user_id else None
        allowed = user_id == actor.user_id or actor.scope("activity", "read") == "all" or (
            actor.scope("activity", "read") == "team" and member is not None and member.team_id == actor.team_id)
    if not allowed or not people or actor.scope("activity", "read") == "none":
        raise not_found("calendar")
    start, end = query["from"], query["to"]
    in_window = or_(and_(Activity.starts_at < end, or_(Activity.ends_at > start,
                                                       and_(Activity.ends_at.is_(None), Activity.starts_at >= start))),
                    and_(Activity.starts_at.is_(None), Activity.due_at >= start, Activity.due_at < end))
    rows = session.execute(select(Activity).where(in_window, Activity.deleted_at.is_(None),
                                                  Activity.status != "cancelled")
                           .order_by(Activity.starts_at, Activity.due_at, Activity.id)).scalars()
    return {"items": [a for a in rows if a.owner_id in people or people & set(a.participant_ids or [])]}
