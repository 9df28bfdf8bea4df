"""Webhooks: subscriptions to event types, signed deliveries (Standard Webhooks), their log, retry and test."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import AT_LEAST_ONE_FIELD, Boolean, Strings, Text, Timestamp
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import ListQuery, Patch, Record, Strict, page

FORMATS = ("standard", "cloudevents")
# A delivery's status as clients see it (API.md): pending (not sent yet, being sent, or waiting for a retry:
# `attempts`, `next_attempt_at` and `error` tell which), delivered (a 2xx), failed (given up for good).
STATUSES = ("pending", "delivered", "failed")
STATUS_DESCRIPTION = ("pending: not sent yet, being sent or waiting for a retry (attempts, next_attempt_at, error); "
                      "delivered: the receiver answered 2xx; failed: given up for good (410, or the retry window over)")
SECRET_PATTERN = r"^whsec_[A-Za-z0-9+/]{32,}={0,2}$"
URL_RULE = ("url is http(s) and, unless its host is in CRM_WEBHOOK_ALLOW_HOSTS, resolves to no loopback, private, "
            "link-local or metadata address; https only in production")
EVENTS_RULE = "each item of events is an event type or a pattern (`sales.*`, `*`)"


class WebhookIn(Strict):
    RULES = (URL_RULE, EVENTS_RULE)

    url = Text(required=True, validate=validate.Length(min=8, max=2000))
    events = Strings(required=True, validate=validate.Length(min=1, max=100))
    secret = Text(load_default=None, allow_none=True, validate=validate.Regexp(SECRET_PATTERN),
                  metadata={"description": "whsec_ plus base64 of 24 to 64 bytes; generated when not given"})
    active = Boolean(load_default=True)
    format = fields.String(load_default="standard", validate=validate.OneOf(FORMATS))
    description = Text(load_default=None, allow_none=True, validate=validate.Length(max=500))


class WebhookPatch(Patch):
    RULES = (URL_RULE, EVENTS_RULE)
    OPENAPI = AT_LEAST_ONE_FIELD

    url = Text(validate=validate.Length(min=8, max=2000))
    events = Strings(validate=validate.Length(min=1, max=100))
    active = Boolean()
    format = fields.String(validate=validate.OneOf(FORMATS))
    description = Text(allow_none=True, validate=validate.Length(max=500))


class Webhook(Record):
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    active = fields.Boolean(required=True)
    format = fields.String(required=True)
    description = fields.String(allow_none=True)
    disabled_reason = fields.String(allow_none=True)
    owner_id = fields.String(allow_none=True)
    secret_rotated_at = Timestamp(allow_none=True)
    previous_secret_expires_at = Timestamp(allow_none=True)


class WebhookCreated(Webhook):
    secret = fields.String(required=True, metadata={"description": "shown once"})


class WebhookQuery(ListQuery):
    SORTABLE = ("created_at",)
    active = Boolean()


class RotateIn(Strict):
    grace_hours = fields.Integer(load_default=24, validate=validate.Range(min=0, max=168))
    secret = Text(load_default=None, allow_none=True, validate=validate.Regexp(SECRET_PATTERN))


class Delivery(Schema):
    class Meta:
        ordered = True

    id = fields.String(required=True, metadata={"description": "the webhook-id header: the same on every attempt"})
    webhook_id = fields.String(required=True)
    event_id = fields.String(required=True)
    event_type = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES),
                           metadata={"description": STATUS_DESCRIPTION})
    attempts = fields.Integer(required=True)
    response_code = fields.Integer(allow_none=True)
    latency_ms = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    next_attempt_at = Timestamp(allow_none=True)
    created_at = Timestamp(required=True)
    delivered_at = Timestamp(allow_none=True)


class DeliveryQuery(ListQuery):
    SORTABLE = ("created_at",)
    status = fields.String(validate=validate.OneOf(STATUSES), metadata={"description": STATUS_DESCRIPTION})


class AllDeliveriesQuery(DeliveryQuery):
    """The delivery log of every webhook the caller may read (their own, for a role scoped to its own)."""

    webhook_id = fields.String(validate=validate.Regexp(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
                               metadata={"description": "one webhook's deliveries (its id)"})
    event_type = fields.String(validate=[validate.Length(max=120), validate.Regexp(r"^[a-z_]+\.[a-z_]+\.v[0-9]+$")])


class WebhookDisabledData(Schema):
    id = fields.String(required=True)
    owner_id = fields.String(allow_none=True)
    reason = fields.String(required=True)
    url_host = fields.String(allow_none=True)


WEBHOOK_DISABLED = event("integration", "webhook_disabled", 1, WebhookDisabledData,
                         "A webhook was disabled: its receiver answered 410 or failed for longer than the retry window.",
                         entity="webhook", action="update")

LIST_WEBHOOKS = rpc("integration", "list_webhooks", WebhookQuery, page(Webhook, "WebhookPage"),
                    permission=("webhook", "read"))
CREATE_WEBHOOK = rpc("integration", "create_webhook", WebhookIn, WebhookCreated, permission=("webhook", "create"))
GET_WEBHOOK = rpc("integration", "get_webhook", None, Webhook, permission=("webhook", "read"), record=True)
UPDATE_WEBHOOK = rpc("integration", "update_webhook", WebhookPatch, Webhook, permission=("webhook", "update"),
                     record=True)
DELETE_WEBHOOK = rpc("integration", "delete_webhook", None, None, permission=("webhook", "delete"), record=True)
ROTATE_SECRET = rpc("integration", "rotate_webhook_secret", RotateIn, WebhookCreated,
                    permission=("webhook", "update"), record=True,
                    description="A new secret; the old one still signs (a second signature) during the grace.")
LIST_DELIVERIES = rpc("integration", "list_deliveries", DeliveryQuery, page(Delivery, "DeliveryPage"),
                      permission=("webhook", "read"), record=True)
LIST_ALL_DELIVERIES = rpc("integration", "list_webhook_deliveries", AllDeliveriesQuery,
                          page(Delivery, "AllDeliveriesPage"), permission=("webhook", "read"),
                          description="Deliveries of every webhook the caller may read, newest first.")
RETRY_DELIVERY = rpc("integration", "retry_delivery", None, Delivery, permission=("webhook", "update"), record=True,
                     description="Send a delivery again now (its webhook-id stays the same).")
TEST_WEBHOOK = rpc("integration", "test_webhook", None, Delivery, permission=("webhook", "update"), record=True,
                   description="Queue a ping (`integration.webhook_test.v1`) to the webhook's URL.")


class WebhookTestData(Schema):
    webhook_id = fields.String(required=True)
    message = fields.String(required=True)


# sent only to the webhook being tested (POST /webhooks/{id}/test), never through the bus
WEBHOOK_TEST = event("integration", "webhook_test", 1, WebhookTestData, "A test ping to one webhook's URL.")
