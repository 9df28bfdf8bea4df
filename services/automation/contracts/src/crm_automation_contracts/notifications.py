"""The caller's notifications (in-app inbox) and their preferences per kind and channel."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Boolean, Text, Timestamp
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import ListQuery, Strict

KINDS = ("assignment", "mention", "reminder", "sla_breach", "approval", "complaint", "webhook_disabled",
         "workflow")
CHANNELS = ("in_app", "email")


class InboxNotification(Schema):
    class Meta:
        ordered = True

    id = fields.String(required=True)
    kind = fields.String(validate=validate.OneOf(KINDS))
    title = fields.String()
    body = fields.String(allow_none=True)
    link = fields.String(allow_none=True)
    resource = fields.String(allow_none=True)
    record_id = fields.String(allow_none=True)
    read_at = Timestamp(allow_none=True)
    created_at = Timestamp()


class InboxPage(Schema):
    items = fields.List(fields.Nested(InboxNotification), required=True)
    next_cursor = fields.String(allow_none=True)
    unread_count = fields.Integer(required=True)


class InboxQuery(ListQuery):
    SORTABLE = ("created_at",)
    unread = fields.Boolean()
    kind = fields.String(validate=validate.OneOf(KINDS))


class InboxReadAll(Schema):
    marked = fields.Integer()
    unread_count = fields.Integer()


class NotificationPreference(Schema):
    kind = fields.String(validate=validate.OneOf(KINDS))
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    enabled = fields.Boolean()
    digest = fields.Boolean(metadata={"description": "email: one digest instead of a message each"})


class NotificationPreferenceIn(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    enabled = Boolean(required=True)
    digest = Boolean(load_default=False)


class NotificationPreferencesIn(Strict):
    items = fields.List(fields.Nested(NotificationPreferenceIn), required=True, validate=validate.Length(min=1, max=50))


class NotificationPreferences(Schema):
    items = fields.List(fields.Nested(NotificationPreference))


class NotificationCreatedData(Schema):
    id = fields.String(required=True)
    user_id = fields.String(required=True)
    kind = fields.String(required=True)


NOTIFICATION_CREATED = event("automation", "notification_created", 1, NotificationCreatedData,
                             "A user got a notification (in the inbox, and by email when they want it).",
                             entity="notification", action="create")

# self-service: anyone signed in reads and marks their own (the service keeps to the caller's user id)
LIST_NOTIFICATIONS = rpc("automation", "list_notifications", InboxQuery, InboxPage,
                         description="The caller's inbox, newest first, with the unread count.")
READ_NOTIFICATION = rpc("automation", "read_notification", None, InboxNotification, record=True,
                        description="Mark one of the caller's notifications read.")
READ_ALL_NOTIFICATIONS = rpc("automation", "read_all_notifications", None, InboxReadAll,
                             description="Mark every notification of the caller read.")
GET_NOTIFICATION_PREFERENCES = rpc("automation", "get_notification_preferences", None, NotificationPreferences,
                                   description="Every kind and channel with whether the caller wants it.")
UPDATE_NOTIFICATION_PREFERENCES = rpc("automation", "update_notification_preferences", NotificationPreferencesIn, NotificationPreferences)
