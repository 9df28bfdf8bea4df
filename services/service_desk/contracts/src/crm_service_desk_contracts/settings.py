"""The service desk's settings and the notifications it keeps for users."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Boolean, Timestamp
from crm_common.contracts.schemas import ListQuery, Patch, page

from crm_service_desk_contracts.base import minutes, rpc


class DeskSettingsSchema(Schema):
    reopen_days = fields.Integer(strict=True)
    customers_see_account_tickets = Boolean()
    complaint_ack_minutes = fields.Integer(strict=True)
    complaint_final_response_minutes = fields.Integer(strict=True)
    version = fields.Integer(strict=True)


class DeskSettingsUpdateSchema(Patch):
    reopen_days = fields.Integer(strict=True, validate=validate.Range(min=0, max=365))
    customers_see_account_tickets = Boolean()
    complaint_ack_minutes = minutes()
    complaint_final_response_minutes = minutes()


class NotificationSchema(Schema):
    id = fields.String()
    user_id = fields.String(allow_none=True)
    ticket_id = fields.String(allow_none=True)
    kind = fields.String()
    message = fields.String()
    created_at = Timestamp()


class NotificationQuery(ListQuery):
    pass


GET_SETTINGS = rpc("get_settings", None, DeskSettingsSchema, permission=("ticket", "read"))
UPDATE_SETTINGS = rpc("update_settings", DeskSettingsUpdateSchema, DeskSettingsSchema,
                      "Service-wide settings (If-Match: the call's expected_version).", permission=("ticket", "admin"))
LIST_NOTIFICATIONS = rpc("list_notifications", NotificationQuery, page(NotificationSchema, "NotificationPage"),
                         "The caller's notifications.", permission=("ticket", "read"))
