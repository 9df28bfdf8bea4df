"""The events the service desk reads (a tolerant reader: each handler names the fields it uses) and what
it does with them: sales's contacts and accounts are kept as local copies, identity's users as agents
(availability, deactivation), privacy requests answered. The queue is bound to exactly HANDLERS' types."""
from __future__ import annotations

from marshmallow import Schema, fields

from crm_common import privacy as kernel_privacy
from crm_common.entrypoint import handler_table, reads
from crm_service_desk.domain import agents, copies, privacy
from crm_service_desk.domain import social


class ContactFields(Schema):
    """What the desk reads of sales's contact events."""

    id = fields.String(required=True)
    account_id = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)


class MergedContactFields(ContactFields):
    merged_ids = fields.List(fields.String(), allow_none=True)
    merged_contact_ids = fields.List(fields.String(), allow_none=True)  # older producers named the list so
    merged_id = fields.String(allow_none=True)  # or sent one


class AccountFields(Schema):
    """What the desk reads of sales's account events."""

    id = fields.String(required=True)
    name = fields.String(allow_none=True)
    grade = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    industry = fields.String(allow_none=True)


class UserFields(Schema):
    """What the desk reads of identity's user events."""

    id = fields.String(required=True)
    email = fields.String(allow_none=True)
    full_name = fields.String(allow_none=True)
    team_id = fields.String(allow_none=True)
    roles = fields.List(fields.String(), allow_none=True)
    is_active = fields.Boolean(allow_none=True)


@reads("sales.contact_created.v1", "sales.contact_updated.v1", fields=ContactFields)
def contact_changed(ctx, data: dict, envelope: dict) -> None:
    copies.contact_changed(ctx, data)


@reads("sales.contact_merged.v1", fields=MergedContactFields)
def contact_merged(ctx, data: dict, envelope: dict) -> None:
    copies.contact_merged(ctx, data)


@reads("sales.account_created.v1", "sales.account_updated.v1", fields=AccountFields)
def account_changed(ctx, data: dict, envelope: dict) -> None:
    copies.account_changed(ctx, data)


@reads("identity.user_created.v1", "identity.user_updated.v1", fields=UserFields)
def user_changed(ctx, data: dict, envelope: dict) -> None:
    agents.upsert(ctx, data)


@reads("identity.user_deactivated.v1", fields=UserFields)
def user_deactivated(ctx, data: dict, envelope: dict) -> None:
    agents.deactivate(ctx, data)


@reads(kernel_privacy.PRIVACY_REQUESTED, fields=kernel_privacy.RequestFields)
def privacy_requested(ctx, data: dict, envelope: dict) -> None:
    privacy.answer(ctx, data)


class MentionTicketFields(Schema):
    """What the desk reads of marketing's request to open a ticket from a social mention."""

    ticket_id = fields.String(required=True)
    subject = fields.String(required=True)
    description = fields.String(required=True)
    priority = fields.String(load_default="normal")
    network = fields.String(required=True)
    author_handle = fields.String(required=True)


@reads("marketing.mention_ticket_requested.v1", fields=MentionTicketFields)
def mention_ticket_requested(ctx, data: dict, envelope: dict) -> None:
    social.open_from_mention(ctx, data)


HANDLERS = handler_table(contact_changed, contact_merged, account_changed, user_changed, user_deactivated,
                         privacy_requested, mention_ticket_requested)
