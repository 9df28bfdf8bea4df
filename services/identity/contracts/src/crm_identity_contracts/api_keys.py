"""API keys for integrations: scoped by roles, within what their owner holds."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import AT_LEAST_ONE_FIELD, Timestamp
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import ListQuery, Patch, Strict, page
from crm_identity_contracts.fields import ROLE_NAME


_PERIOD = r"[1-9][0-9]{0,6}/(second|minute|hour|day)"
RATE_LIMIT_PATTERN = rf"^{_PERIOD}(;{_PERIOD}){{0,3}}$"
RATE_LIMIT_RULE = ("the key's own rate limit per route, e.g. `600/minute` or `10/second;1000/hour`; null: the "
                   "gateway's CRM_RATE_LIMIT")


def _rate_limit(**kw):
    return fields.String(allow_none=True, validate=validate.Regexp(RATE_LIMIT_PATTERN),
                         metadata={"description": RATE_LIMIT_RULE}, **kw)


class ApiKeySchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    owner_id = fields.String(allow_none=True)
    created_at = Timestamp(required=True)
    expires_at = Timestamp(allow_none=True)
    last_used_at = Timestamp(allow_none=True)
    revoked_at = Timestamp(allow_none=True)
    rate_limit = fields.String(allow_none=True, metadata={"description": RATE_LIMIT_RULE})


class ApiKeyCreatedSchema(ApiKeySchema):
    key = fields.String(required=True, metadata={"description": "the secret: shown once, never again"})


class ApiKeyCreateSchema(Strict):
    RULES = ("roles name existing roles", "expires_at is in the future")

    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    roles = fields.List(fields.String(validate=ROLE_NAME), required=True, validate=validate.Length(min=1))
    expires_at = Timestamp(load_default=None, allow_none=True)
    rate_limit = _rate_limit(load_default=None)


class ApiKeyPatchSchema(Patch):
    OPENAPI = AT_LEAST_ONE_FIELD

    name = fields.String(validate=validate.Length(min=1, max=120))
    rate_limit = _rate_limit()


class ApiKeyListArgs(ListQuery):
    SORTABLE = ("created_at", "name")
    include_revoked = fields.Boolean(load_default=False)


ApiKeyPage = page(ApiKeySchema, "ApiKeyPage")


class ApiKeyEventData(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    owner_id = fields.String(required=True, allow_none=True)
    roles = fields.List(fields.String(), required=True)


API_KEY_CREATED = event("identity", "api_key_created", 1, ApiKeyEventData, "An API key was issued.",
                        entity="api_key", action="create")
API_KEY_REVOKED = event("identity", "api_key_revoked", 1, ApiKeyEventData, "An API key was revoked.",
                        entity="api_key", action="delete")

LIST_API_KEYS = rpc("identity", "list_api_keys", ApiKeyListArgs, ApiKeyPage, permission=("api_key", "read"))
CREATE_API_KEY = rpc("identity", "create_api_key", ApiKeyCreateSchema, ApiKeyCreatedSchema,
                     permission=("api_key", "create"))
UPDATE_API_KEY = rpc("identity", "update_api_key", ApiKeyPatchSchema, ApiKeySchema, permission=("api_key", "update"),
                     record=True, description="Rename a key or set its own rate limit (null: the gateway's).")
REVOKE_API_KEY = rpc("identity", "revoke_api_key", None, None, permission=("api_key", "delete"), record=True)
AUTHENTICATE_API_KEY = rpc("identity", "authenticate_api_key", None, None,
                           description="(secret=key, client_ip=None) -> Actor dict plus api_key_id, or "
                                       "ServiceError('unauthenticated'); the grants are the key's roles' within "
                                       "what its owner holds now")
