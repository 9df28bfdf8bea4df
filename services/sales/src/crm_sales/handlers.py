"""What the sales service does with the events it receives (plain functions, no transport).

Each handler declares the event types it reads and the fields of their data it uses (a tolerant reader:
the producer may add fields); the queue binds to exactly these types (pyproject: crm.subscriptions).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from marshmallow import Schema, fields

import crm_sales_contracts as c
from crm_common import privacy as privacy_request
from crm_common.entrypoint import handler_table, reads
from crm_common.errors import ServiceError
from crm_sales.domain import leads, privacy, users
from crm_sales.domain import content_subscriptions, lead_scores, web_forms

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

log = logging.getLogger(__name__)

USER_CREATED = "identity.user_created.v1"
USER_UPDATED = "identity.user_updated.v1"
USER_DEACTIVATED = "identity.user_deactivated.v1"
FORM_SUBMITTED = "marketing.form_submitted.v1"
SCORE_CHANGED = "marketing.score_changed.v1"
UNSUBSCRIBED = "marketing.unsubscribed.v1"


class UserFields(Schema):
    """What sales keeps of identity's users (only the fields an event carries change)."""

    id = fields.String(required=True)
    email = fields.String(allow_none=True)
    full_name = fields.String(allow_none=True)
    team_id = fields.String(allow_none=True)
    territory_ids = fields.List(fields.String(), allow_none=True)
    roles = fields.List(fields.String(), allow_none=True)
    is_active = fields.Boolean()


class FormFields(Schema):
    """A web form submission: the visitor's answers by field name, and the campaign it belongs to."""

    submission_id = fields.String(allow_none=True)
    campaign_id = fields.String(allow_none=True)
    fields_ = fields.Dict(data_key="fields", attribute="fields", allow_none=True)


@reads(USER_CREATED, USER_UPDATED, USER_DEACTIVATED, fields=UserFields)
def on_user(ctx: Context, data: dict, envelope: dict) -> None:
    """Keep the local copy of a user; a user deactivated hands their open leads on."""
    if envelope["type"] == USER_DEACTIVATED:
        data["is_active"] = False
    user, was_active = users.upsert(ctx.session, data)
    if was_active and not user.is_active:
        moved = leads.reassign_open_leads(ctx, user.id)
        log.info("user %s deactivated: %d open leads reassigned", user.id, moved)


@reads(privacy_request.PRIVACY_REQUESTED, fields=privacy_request.RequestFields)
def on_privacy(ctx: Context, data: dict, envelope: dict) -> None:
    privacy.handle(ctx, data)


@reads(FORM_SUBMITTED, fields=FormFields)
def on_form(ctx: Context, data: dict, envelope: dict) -> None:
    """A web form became a lead, or updated the open lead of its email (duplicates by phone or company are
    linked to the first, never refused)."""
    answers = {k: v for k, v in (data.get("fields") or {}).items() if k in leads.FIELDS and v not in (None, "")}
    if data.get("campaign_id"):
        answers["campaign_id"] = data["campaign_id"]
    if isinstance(answers.get("country"), str):
        answers["country"] = answers["country"].upper()[:2]
    existing = web_forms.open_lead_of(ctx.session, answers.get("email"))  # the same person: updated, not doubled

    def apply(values: dict):
        if existing is not None:
            return web_forms.update_from_form(ctx, existing, values)
        return leads.create_from_form(ctx, dict(values))
    try:
        apply(answers)
    except ServiceError as exc:
        if exc.code != "validation_failed":
            raise
        kept = {k: v for k, v in answers.items() if k not in exc.errors}  # drop what is invalid, keep the person
        try:
            apply(kept)
        except ServiceError:
            log.warning("form submission %s has no usable lead fields: %s", data.get("submission_id"), exc.errors)


class ScoreFields(Schema):
    """A lead's score as marketing's scoring rules give it (0..100)."""

    lead_id = fields.String(required=True)
    score = fields.Integer(required=True)


@reads(SCORE_CHANGED, fields=ScoreFields)
def on_score(ctx: Context, data: dict, envelope: dict) -> None:
    """Marketing rescored a lead: its score becomes the lead's."""
    lead_scores.apply_score(ctx, data["lead_id"], data["score"])


class UnsubscribedFields(Schema):
    """Who unsubscribed with a marketing mail's link, and from what: `topic` a content topic, null all mail;
    `contact_id` the sales contact the mail went to (null: a lead, who has no content subscriptions)."""

    contact_id = fields.String(allow_none=True)
    topic = fields.String(allow_none=True)


@reads(UNSUBSCRIBED, fields=UnsubscribedFields)
def on_unsubscribed(ctx: Context, data: dict, envelope: dict) -> None:
    """A contact left a topic (or all marketing mail) with a mail's link: their content subscriptions to it
    (or all of them) end here too (domain.content_subscriptions.left_by_mail)."""
    topic = data.get("topic")
    if not data.get("contact_id") or (topic is not None and topic not in c.TOPICS):
        return
    ended = content_subscriptions.left_by_mail(ctx, data["contact_id"], topic)
    log.info("unsubscribed by mail from %s: %d content subscriptions ended", topic or "all topics", len(ended))


class ApprovalDecidedFields(Schema):
    """What sales reads of an approval's outcome (automation.approval_decided.v1)."""

    resource = fields.String(required=True)
    record_id = fields.String(required=True)
    status = fields.String(required=True)
    decided_by = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)


@reads("automation.approval_decided.v1", fields=ApprovalDecidedFields)
def on_approval_decided(ctx: Context, data: dict, envelope: dict) -> None:
    """An approval was decided: a quote's discount (approved, the waiting quote goes out: domain.quote_approvals)
    or an expense claim's (domain.expenses)."""
    from crm_sales.domain import expenses, quote_approvals
    if data["resource"] == "expense":
        expenses.approval_decided(ctx, data)
    else:
        quote_approvals.decided(ctx, data)


HANDLERS = handler_table(on_user, on_privacy, on_form, on_score, on_unsubscribed, on_approval_decided)
