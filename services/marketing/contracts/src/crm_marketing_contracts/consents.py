"""Consents (`/api/v1/consents`): one current consent per address and channel, with its proof (source, time,
IP address, the consent text's version); every change is a `marketing.consent_changed.v1` (the history).

Posting a consent for an address and channel that already has one records the new state on that record.
"""
from __future__ import annotations

import ipaddress

from marshmallow import Schema, ValidationError, fields, validate

from crm_common.contracts.fields import CURSOR_RULE, Text, Timestamp
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import ListQuery, Patch, Record, Strict, page
from crm_marketing_contracts.fields import EMAIL_RULE, EmailAddress

CHANNELS = ("email", "sms", "phone")
STATUSES = ("opted_in", "opted_out", "pending")
READ, CREATE, UPDATE = ("consent", "read"), ("consent", "create"), ("consent", "update")
ID = dict(validate=validate.Length(min=1, max=36))
IP_RULE = "ip is an IPv4 or IPv6 address"


def _an_ip(value: str) -> None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValidationError("an IPv4 or IPv6 address") from None


def IpAddress(**kw):  # noqa: N802 - a field factory: the address as sent, checked
    return fields.String(validate=_an_ip, metadata={"description": "IPv4 or IPv6", "example": "192.0.2.7"}, **kw)


class Consent(Record):
    """The current consent of one address on one channel (`version` is its ETag)."""

    email = fields.String(allow_none=True, metadata={"description": "null once erased"})
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    source = fields.String(allow_none=True)
    captured_at = Timestamp(allow_none=True)
    ip = fields.String(allow_none=True)
    text_version = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True)
    lead_id = fields.String(allow_none=True)
    confirmed_at = Timestamp(allow_none=True, metadata={"description": "when a double opt-in was confirmed"})
    created_by = fields.String(allow_none=True)


class ConsentIn(Strict):
    RULES = (EMAIL_RULE, IP_RULE)

    email = EmailAddress(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    source = Text(load_default="api", validate=validate.Length(min=1, max=100),
                  metadata={"description": 'where it was given: "form:<id>", "import", "event booth", "api"...'})
    captured_at = Timestamp(load_default=None, allow_none=True, metadata={"description": "default: now"})
    ip = IpAddress(load_default=None, allow_none=True)
    text_version = Text(load_default=None, allow_none=True, validate=validate.Length(max=50))
    contact_id = fields.String(load_default=None, allow_none=True, **ID)
    lead_id = fields.String(load_default=None, allow_none=True, **ID)


class ConsentPatch(Patch):
    RULES = (IP_RULE,)

    status = fields.String(validate=validate.OneOf(STATUSES))
    source = Text(validate=validate.Length(min=1, max=100))
    captured_at = Timestamp(allow_none=True)
    ip = IpAddress(allow_none=True)
    text_version = Text(allow_none=True, validate=validate.Length(max=50))
    contact_id = fields.String(allow_none=True, **ID)
    lead_id = fields.String(allow_none=True, **ID)


class ConsentQuery(ListQuery):
    """`?email=&channel=&status=&contact_id=`: `email` finds the address's consents (an erased one too, by hash)."""

    SORTABLE = ("created_at", "updated_at")
    RULES = (CURSOR_RULE, EMAIL_RULE)

    email = EmailAddress()
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    status = fields.String(validate=validate.OneOf(STATUSES))
    contact_id = fields.String(**ID)


ConsentPage = page(Consent, "ConsentPage")


# -- events: the history of a consent (never the address: a consumer reads the record by its id) ---------

class ConsentChangedData(Schema):
    id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    previous_status = fields.String(allow_none=True, validate=validate.OneOf(STATUSES))
    source = fields.String(allow_none=True)
    captured_at = Timestamp(allow_none=True)
    text_version = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True)
    lead_id = fields.String(allow_none=True)
    changed_fields = fields.List(fields.String(), required=True)


CONSENT_CHANGED = event("marketing", "consent_changed", 1, ConsentChangedData,
                        "A consent was given, withdrawn or changed (the history of each address and channel).",
                        entity="consent", action="update")

# -- RPC methods ------------------------------------------------------------------------------------

LIST_CONSENTS = rpc("marketing", "list_consents", ConsentQuery, ConsentPage, permission=READ,
                    description="Consents, newest first; filters email, channel, status, contact_id.")
CREATE_CONSENT = rpc("marketing", "create_consent", ConsentIn, Consent, permission=CREATE,
                     description="Record the consent of an address on a channel (the address's record for that "
                                 "channel changes if it has one).")
GET_CONSENT = rpc("marketing", "get_consent", None, Consent, permission=READ, record=True,
                  description="One consent.")
UPDATE_CONSENT = rpc("marketing", "update_consent", ConsentPatch, Consent, permission=UPDATE, record=True,
                     description="Change a consent's status or proof.")
