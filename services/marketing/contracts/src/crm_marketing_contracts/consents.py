"""Consent per address and channel: only its event here (the consents area builds the routes).

NOTE for the merge: the least the public routes need (forms, double opt-in, unsubscribe); the consents
area's own module replaces this one."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.registry import event

STATUSES = ("opted_in", "opted_out", "pending")
CHANNELS = ("email", "sms", "phone")


class ConsentChangedData(Schema):
    """A consent's new status; never the address (a consumer reads the consent by id)."""

    id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    previous_status = fields.String(allow_none=True, validate=validate.OneOf(STATUSES))
    source = fields.String(allow_none=True)


CONSENT_CHANGED = event("marketing", "consent_changed", 1, ConsentChangedData,
                        "A person's consent on a channel was given, confirmed or withdrawn.",
                        entity="consent", action="update")
