"""What the automation service does with the events it receives (plain functions, no transport).

The queue takes every event of every other producer (`SUBSCRIBES`: all but its own), the events that waited
while a transaction ran together in the next one: they are first offered to the workflows (`engine.on_events`,
after their source committed: a rule never runs inside anyone's save), then `HANDLERS` applies the few automation
acts on itself to each (tolerant readers of the fields they declare).
"""
from __future__ import annotations

from marshmallow import Schema, fields

from crm_common import privacy, topology
from crm_common.entrypoint import Context, handler_table, reads
from crm_automation.domain import approvals, drafts, engine, notifications
from crm_automation.domain import privacy as privacy_part
from crm_automation_contracts import PRIVACY_PART_COMPLETED


class UserFields(Schema):
    id = fields.String(required=True)
    email = fields.String(allow_none=True)
    roles = fields.List(fields.String(), load_default=list)
    team_id = fields.String(allow_none=True)
    is_active = fields.Boolean(load_default=True)


class ReminderFields(Schema):
    id = fields.String(required=True)
    subject = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    due_at = fields.String(allow_none=True)


class BreachFields(Schema):
    id = fields.String(required=True)
    number = fields.String(allow_none=True)
    kind = fields.String(required=True)


@reads("identity.user_created.v1", "identity.user_updated.v1", fields=UserFields)
def user_changed(ctx: Context, data: dict, envelope: dict) -> None:
    notifications.apply_user(ctx, data)


@reads("identity.user_deactivated.v1", fields=UserFields)
def user_deactivated(ctx: Context, data: dict, envelope: dict) -> None:
    notifications.apply_user(ctx, data, deactivated=True)


@reads("sales.activity_reminder_due.v1", fields=ReminderFields)
def reminder_due(ctx: Context, data: dict, envelope: dict) -> None:
    """An activity's reminder time came: its owner is told (kind reminder)."""
    notifications.notify(ctx, [data.get("owner_id")], "reminder", f"Reminder: {data.get('subject') or 'activity'}",
                         f"due {data['due_at']}" if data.get("due_at") else None, None, "activity", data["id"])


@reads("service_desk.sla_breached.v1", fields=BreachFields)
def sla_breached(ctx: Context, data: dict, envelope: dict) -> None:
    """A ticket missed its service level: the support managers are told (kind sla_breach)."""
    label = data.get("number") or data["id"]
    notifications.notify(ctx, notifications.users_with_role(ctx, "support_manager"), "sla_breach",
                         f"Ticket {label} missed its {data['kind'].replace('_', ' ')} target", None, None,
                         "ticket", data["id"])


class TeamFields(Schema):
    id = fields.String(required=True)
    manager_id = fields.String(allow_none=True)


class QuoteApprovalFields(Schema):
    id = fields.String(required=True)
    owner_id = fields.String(allow_none=True)
    max_discount_percent = fields.String(required=True)
    limit_percent = fields.String(required=True)
    total = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)


class ExpenseApprovalFields(Schema):
    id = fields.String(required=True)
    owner_id = fields.String(allow_none=True)
    amount = fields.String(required=True)
    currency = fields.String(required=True)
    category = fields.String(allow_none=True)
    limit = fields.String(required=True)


@reads("identity.team_created.v1", "identity.team_updated.v1", fields=TeamFields)
def team_changed(ctx: Context, data: dict, envelope: dict) -> None:
    approvals.apply_team(ctx, data)


@reads("identity.team_deleted.v1", fields=TeamFields)
def team_deleted(ctx: Context, data: dict, envelope: dict) -> None:
    approvals.apply_team(ctx, data, deleted=True)


@reads("sales.quote_approval_requested.v1", fields=QuoteApprovalFields)
def quote_approval_requested(ctx: Context, data: dict, envelope: dict) -> None:
    """A quote over the discount limit was sent: its approval chain starts (once; asking again joins it)."""
    approvals.quote_requested(ctx, data)


@reads("sales.expense_approval_requested.v1", fields=ExpenseApprovalFields)
def expense_approval_requested(ctx: Context, data: dict, envelope: dict) -> None:
    """An expense claim above the approval amount: its approval chain starts (once)."""
    approvals.expense_requested(ctx, data)


class MentionFields(Schema):
    comment_id = fields.String(required=True)
    resource = fields.String(required=True)
    record_id = fields.String(required=True)
    mentioned_user_id = fields.String(required=True)
    author_id = fields.String(allow_none=True)


class WebhookDisabledFields(Schema):
    id = fields.String(required=True)
    owner_id = fields.String(allow_none=True)
    reason = fields.String(required=True)
    url_host = fields.String(allow_none=True)


@reads("sales.comment_mentioned.v1", fields=MentionFields)
def mentioned(ctx: Context, data: dict, envelope: dict) -> None:
    """A comment on a record @mentioned a user: they are told (kind mention), unless they wrote it."""
    if data["mentioned_user_id"] == data.get("author_id"):
        return
    notifications.notify(ctx, [data["mentioned_user_id"]], "mention",
                         f"You were mentioned in a comment on the {data['resource']}", None, None, data["resource"],
                         data["record_id"])


@reads("integration.webhook_disabled.v1", fields=WebhookDisabledFields)
def webhook_disabled(ctx: Context, data: dict, envelope: dict) -> None:
    """The integration service switched a webhook off (410, or failing past its retry window): its owner is told
    (kind webhook_disabled); a webhook nobody owns, the administrators."""
    users = [data["owner_id"]] if data.get("owner_id") else notifications.users_with_role(ctx, "admin")
    where = f" to {data['url_host']}" if data.get("url_host") else ""
    notifications.notify(ctx, users, "webhook_disabled", f"A webhook{where} was disabled", data["reason"], None,
                         "webhook", data["id"])


@reads(privacy.PRIVACY_REQUESTED, fields=privacy.RequestFields)
def privacy_requested(ctx: Context, data: dict, envelope: dict) -> None:
    """identity.privacy_requested.v1 -> automation.privacy_part_completed.v1: the person's records' snapshots,
    runs, ended runs and notifications, exported or erased (`domain.privacy`), in this transaction."""
    if data.get("kind") == "erasure":
        counts, found = privacy_part.erase(ctx.session, data["email"]), None
    else:
        found, counts = privacy_part.export(ctx.session, data["email"])
    ctx.emit(PRIVACY_PART_COMPLETED, privacy.part(data, "automation", data=found, counts=counts))


HANDLERS = handler_table(user_changed, user_deactivated, reminder_due, sla_breached, team_changed, team_deleted,
                         quote_approval_requested, expense_approval_requested, mentioned, webhook_disabled,
                         privacy_requested)
# workflows trigger on any business event of the other services (pyproject: crm.subscriptions); not on its own
# (notifications, run outcomes: they start nothing, and would come back to this queue twice per notifying run)
SUBSCRIBES = tuple(producer for producer in topology.PRODUCERS if producer != "automation")


def offer_to_workflows(ctx: Context, envelopes: list[dict]) -> None:
    """Every event first (`event_stream(HANDLERS, every_batch=..., batch=True)`): the runs of the workflows the
    events of one transaction start, in order (the events that waited while the last one ran come together).
    When none of them has a handler here, nothing reads what the intake writes before the commit (a privacy
    request's handler reads runs, snapshots and notifications): its rows go with the outbox rows."""
    if not any(envelope.get("type") in HANDLERS for envelope in envelopes):
        drafts.unread_before_commit(ctx.session)
    engine.take(ctx, envelopes)
