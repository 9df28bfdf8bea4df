"""Privacy requests: erase or export everything about an email address, in every service."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Timestamp
from crm_common.contracts.platform import PrivacyPartSchema, privacy_part_completed  # noqa: F401 - re-exported
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import ListQuery, Strict, page
from crm_identity_contracts.fields import EMAIL

PRIVACY_KINDS = ("erasure", "export")
PRIVACY_SERVICES = ("identity", "sales", "service_desk", "marketing", "analytics", "integration", "automation")


class PrivacyCreateSchema(Strict):
    email = fields.String(required=True, validate=EMAIL)


class OffboardSchema(Strict):
    """Offboarding a staff member: the administrator types the account's email again to confirm."""
    confirm_email = fields.String(required=True, validate=EMAIL)


class PrivacyPartStatusSchema(Schema):
    status = fields.String(required=True)
    data = fields.Raw(allow_none=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Raw())
    completed_at = Timestamp(allow_none=True)


class PrivacyRequestSchema(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    email = fields.String(required=True)
    status = fields.String(required=True)
    parts = fields.Dict(keys=fields.String(), values=fields.Nested(PrivacyPartStatusSchema), required=True)
    created_at = Timestamp(required=True)
    completed_at = Timestamp(allow_none=True)


class PrivacyListArgs(ListQuery):
    kind = fields.String(validate=validate.OneOf(PRIVACY_KINDS))
    status = fields.String(validate=validate.OneOf(("pending", "completed", "failed")))


PrivacyRequestPage = page(PrivacyRequestSchema, "PrivacyRequestPage")


class PrivacyRequestedData(Schema):
    request_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(PRIVACY_KINDS))
    email = fields.String(required=True)


PRIVACY_REQUESTED = event("identity", "privacy_requested", 1, PrivacyRequestedData,
                          "Erase or export everything about an email address: every service answers with "
                          "its <service>.privacy_part_completed.v1.", entity="privacy_request", action="create")
PRIVACY_PART_COMPLETED = privacy_part_completed("identity", entity="privacy_request", action="update")

CREATE_PRIVACY_REQUEST = rpc("identity", "create_privacy_request", PrivacyCreateSchema, PrivacyRequestSchema,
                             permission=("privacy_request", "create"),
                             description="An erasure or export request (keyword `kind`) for an email; identity "
                                         "does its own part at once.")
GET_PRIVACY_REQUEST = rpc("identity", "get_privacy_request", None, PrivacyRequestSchema,
                          permission=("privacy_request", "read"), record=True)
LIST_PRIVACY_REQUESTS = rpc("identity", "list_privacy_requests", PrivacyListArgs, PrivacyRequestPage,
                            permission=("privacy_request", "read"))
OFFBOARD_USER = rpc("identity", "offboard_user", OffboardSchema, PrivacyRequestSchema, permission=("user", "admin"),
                    record=True,
                    description="Offboard a staff member: an erasure request for their email that deactivates and "
                                "anonymises the account; never the caller or the last active administrator.")

