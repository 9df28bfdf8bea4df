"""Contracts owned by the identity service: its events and RPC schemas.

The same schemas validate the gateway's requests (and document them in /openapi.json), load the
RPC input in the service and dump its output. Secrets (passwords, hashes, key secrets, MFA secrets)
appear only in the input schemas that need them and in the one-time answers that show them.
"""
from __future__ import annotations

from datetime import datetime, timezone

from marshmallow import RAISE, Schema, fields, validate

from crm_common.contracts.fields import CURSOR_RULE, Boolean, Sort, existing
from crm_common.contracts.platform import PrivacyPartSchema  # noqa: F401 - the kernel's, re-exported
from crm_common.contracts.registry import event, rpc
from crm_common.permissions import ACTIONS, RESOURCES, SCOPES

# --------------------------------------------------------------------------------------------------
# shared fields


class Timestamp(fields.DateTime):
    """RFC 3339 in UTC with a `Z` (`2026-11-23T08:00:00Z`); an already dumped string passes through."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or isinstance(value, str):
            return value
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")

    def _deserialize(self, value, attr, data, **kwargs):
        result: datetime = super()._deserialize(value, attr, data, **kwargs)
        if result.tzinfo is None:
            result = result.replace(tzinfo=timezone.utc)
        return result.astimezone(timezone.utc)


class Strict(Schema):
    class Meta:
        unknown = RAISE
        ordered = True


Id = fields.String  # uuid strings
ROLE_NAME = validate.Regexp(r"^[a-z][a-z0-9_]{1,49}$", error="lower-case letters, digits and _, 2 to 50 characters")
EMAIL = [validate.Email(), validate.Length(max=254)]
PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH = 12, 256  # the identity service's password policy
PASSWORD_RULE = ("a new password is not the email address, not a common password, and has at least 4 "
                 "different characters")


class Password(fields.String):
    """A new password. The identity service applies the policy (its length, in the document, and the
    rest, in the description) so that one answer names every broken rule with the request's other
    errors; the schema only bounds the text."""

    def __init__(self, **kw):
        super().__init__(validate=validate.Length(min=1, max=1024), load_only=True,
                         metadata={"description": f"{PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters; "
                                                  + PASSWORD_RULE}, **kw)

    def openapi_properties(self) -> dict:
        return {"minLength": PASSWORD_MIN_LENGTH, "maxLength": PASSWORD_MAX_LENGTH}


class Grants(fields.Dict):
    """A custom role's grant `{resource: {action: scope}}` ("*" for every resource or action); the
    document names every resource, action and scope."""

    def __init__(self, **kw):
        super().__init__(keys=fields.String(), values=fields.Raw(), **kw)

    def openapi_properties(self) -> dict:
        actions = {"type": "object", "additionalProperties": False,
                   "properties": {a: {"type": "string", "enum": list(SCOPES)} for a in ("*", *ACTIONS)}}
        return {"additionalProperties": False, "properties": {r: actions for r in ("*", *RESOURCES)}}


class ListInput(Strict):
    """`limit`, `cursor`, `sort`, `q` of every list (sort is one of the list's SORTABLE)."""

    SORTABLE: tuple[str, ...] = ("created_at",)
    RULES = (CURSOR_RULE,)

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, metadata={"description": CURSOR_RULE})
    sort = Sort(load_default="-created_at")
    q = fields.String(load_default=None, validate=validate.Length(max=200))


class ById(Strict):
    id = fields.String(required=True)


class ByIdVersioned(ById):
    expected_version = fields.Integer(strict=True, load_default=None, allow_none=True)


# --------------------------------------------------------------------------------------------------
# authentication


class LoginSchema(Strict):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024), load_only=True)
    otp = fields.String(load_default=None, validate=validate.Length(max=12), load_only=True)


class RefreshSchema(Strict):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=200), load_only=True)


class LogoutSchema(Strict):
    refresh_token = fields.String(load_default=None, validate=validate.Length(min=1, max=200), load_only=True)


class LogoutCallSchema(LogoutSchema):
    """What the gateway sends identity: the body, and the session (`sid`) of the access token used."""

    session_id = fields.String(load_default=None, validate=validate.Length(min=1, max=36), load_only=True)


class TokenPairSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_in = fields.Integer(strict=True, required=True)


class PasswordChangeSchema(Strict):
    RULES = (PASSWORD_RULE, f"new_password has {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters")

    current_password = fields.String(required=True, validate=validate.Length(min=1, max=1024), load_only=True)
    new_password = Password(required=True)


class MfaEnrollmentSchema(Schema):
    secret = fields.String(required=True)
    otpauth_uri = fields.String(required=True)


class MfaVerifySchema(Strict):
    otp = fields.String(required=True, validate=validate.Length(min=6, max=12))


class MfaDisableSchema(Strict):
    """Turning one's own second factor off takes the password and a current code."""
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024), load_only=True)
    otp = fields.String(required=True, validate=validate.Length(min=6, max=12))


class MfaStatusSchema(Schema):
    mfa_enabled = Boolean(required=True)


# --------------------------------------------------------------------------------------------------
# users


class UserSchema(Schema):
    id = fields.String(required=True)
    email = fields.String(required=True)
    full_name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    team_id = fields.String(allow_none=True)
    territory_ids = fields.List(fields.String(), required=True)
    is_active = Boolean(required=True)
    mfa_enabled = Boolean(required=True)
    account_id = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp()
    version = fields.Integer(strict=True)


class MeSchema(UserSchema):
    kind = fields.String(required=True)
    perms = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.String()))


class UserCreateSchema(Strict):
    RULES = (PASSWORD_RULE, "roles name existing roles granting no more than the caller's own", existing("team_id"),
             "account_id and contact_id are for portal customers only (role customer, which needs contact_id)")

    email = fields.String(required=True, validate=EMAIL)
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    password = Password(required=True)
    roles = fields.List(fields.String(validate=ROLE_NAME), load_default=list)
    team_id = fields.String(load_default=None, allow_none=True)
    territory_ids = fields.List(fields.String(validate=validate.Length(max=36)), load_default=list)
    is_active = Boolean(load_default=True)
    account_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))
    contact_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))


class PortalCustomerCreateSchema(Strict):
    RULES = (PASSWORD_RULE,)

    email = fields.String(required=True, validate=EMAIL)
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    password = Password(required=True)
    account_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))
    contact_id = fields.String(required=True, validate=validate.Length(min=1, max=36))


class UserUpdateSchema(Strict):
    RULES = UserCreateSchema.RULES

    email = fields.String(validate=EMAIL)
    full_name = fields.String(validate=validate.Length(min=1, max=200))
    password = Password()
    roles = fields.List(fields.String(validate=ROLE_NAME))
    team_id = fields.String(allow_none=True)
    territory_ids = fields.List(fields.String(validate=validate.Length(max=36)))
    is_active = Boolean()
    account_id = fields.String(allow_none=True, validate=validate.Length(max=36))
    contact_id = fields.String(allow_none=True, validate=validate.Length(max=36))


class MeUpdateSchema(Strict):
    """What anyone may change about themself; every other field is an administrator's (422 here)."""

    full_name = fields.String(validate=validate.Length(min=1, max=200))


class UserListArgs(ListInput):
    SORTABLE = ("created_at", "email", "full_name")
    email = fields.String(validate=validate.Length(max=254))
    team_id = fields.String()
    role = fields.String(validate=validate.Length(max=50))
    is_active = fields.Boolean()


class UpdateUserInput(ByIdVersioned):
    changes = fields.Nested(UserUpdateSchema, required=True)


# --------------------------------------------------------------------------------------------------
# teams


class TeamSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    manager_id = fields.String(allow_none=True)
    member_ids = fields.List(fields.String(), required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp()
    version = fields.Integer(strict=True)


class TeamCreateSchema(Strict):
    RULES = ("manager_id names an active staff user", existing("member_ids"))

    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    manager_id = fields.String(load_default=None, allow_none=True)
    member_ids = fields.List(fields.String(), load_default=list)


class TeamUpdateSchema(Strict):
    RULES = TeamCreateSchema.RULES

    name = fields.String(validate=validate.Length(min=1, max=120))
    manager_id = fields.String(allow_none=True)
    member_ids = fields.List(fields.String())


class TeamListArgs(ListInput):
    """Teams: sort by created_at or name; `q` searches the name."""

    SORTABLE = ("created_at", "name")


class UpdateTeamInput(ByIdVersioned):
    changes = fields.Nested(TeamUpdateSchema, required=True)


# --------------------------------------------------------------------------------------------------
# roles

Grant = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.String()))


class RoleSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(allow_none=True)
    builtin = Boolean(required=True)
    permissions = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.String()),
                              required=True)
    created_at = Timestamp(allow_none=True)
    version = fields.Integer(strict=True, allow_none=True)


class RoleCreateSchema(Strict):
    RULES = ("permissions are no wider than the caller's own",)

    name = fields.String(required=True, validate=ROLE_NAME)
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    permissions = Grants(required=True)


class RoleUpdateSchema(Strict):
    RULES = RoleCreateSchema.RULES

    description = fields.String(allow_none=True, validate=validate.Length(max=500))
    permissions = Grants()


class RoleListArgs(ListInput):
    SORTABLE = ("created_at", "name")
    sort = Sort(load_default="name")
    builtin = fields.Boolean()


class UpdateRoleInput(ByIdVersioned):
    changes = fields.Nested(RoleUpdateSchema, required=True)


# --------------------------------------------------------------------------------------------------
# API keys


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


class ApiKeyCreatedSchema(ApiKeySchema):
    key = fields.String(required=True, metadata={"description": "the secret: shown once, never again"})


class ApiKeyCreateSchema(Strict):
    RULES = ("roles name existing roles", "expires_at is in the future")

    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    roles = fields.List(fields.String(validate=ROLE_NAME), required=True, validate=validate.Length(min=1))
    expires_at = Timestamp(load_default=None, allow_none=True)


class ApiKeyListArgs(ListInput):
    SORTABLE = ("created_at", "name")
    include_revoked = fields.Boolean(load_default=False)


# --------------------------------------------------------------------------------------------------
# audit


class AuditEntrySchema(Schema):
    id = fields.String(required=True)
    event_id = fields.String(allow_none=True)
    event_type = fields.String(required=True)
    actor_id = fields.String(allow_none=True)
    actor_kind = fields.String(allow_none=True)
    action = fields.String(required=True)
    entity_type = fields.String(required=True)
    entity_id = fields.String(allow_none=True)
    changed_fields = fields.List(fields.String(), required=True)
    request_id = fields.String(allow_none=True)
    client_ip = fields.String(allow_none=True)
    producer = fields.String(allow_none=True)
    occurred_at = Timestamp(required=True)


class AuditListArgs(ListInput):
    SORTABLE = ("occurred_at",)
    sort = Sort(load_default="-occurred_at")
    entity_type = fields.String(validate=validate.Length(max=60))
    entity_id = fields.String(validate=validate.Length(max=64))
    actor_id = fields.String(validate=validate.Length(max=64))
    action = fields.String(validate=validate.Length(max=60))
    request_id = fields.String(validate=validate.Length(max=128))
    from_ = Timestamp(data_key="from")
    to = Timestamp()


# --------------------------------------------------------------------------------------------------
# privacy

PRIVACY_KINDS = ("erasure", "export")
PRIVACY_SERVICES = ("identity", "sales", "service_desk", "marketing", "analytics")


class PrivacyCreateSchema(Strict):
    email = fields.String(required=True, validate=EMAIL)


class OffboardSchema(Strict):
    """Offboarding a staff member: the administrator types the account's email again to confirm."""
    confirm_email = fields.String(required=True, validate=EMAIL)


class OffboardInput(OffboardSchema):
    id = fields.String(required=True)


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


class CreatePrivacyInput(PrivacyCreateSchema):
    kind = fields.String(required=True, validate=validate.OneOf(PRIVACY_KINDS))


class PrivacyListArgs(ListInput):
    kind = fields.String(validate=validate.OneOf(PRIVACY_KINDS))
    status = fields.String(validate=validate.OneOf(("pending", "completed", "failed")))


# --------------------------------------------------------------------------------------------------
# events


class UserEventData(Schema):
    id = fields.String(required=True)
    email = fields.String(required=True)
    full_name = fields.String(required=True)
    team_id = fields.String(required=True, allow_none=True)
    territory_ids = fields.List(fields.String(), required=True)
    roles = fields.List(fields.String(), required=True)
    is_active = Boolean(required=True)


class UserUpdatedData(UserEventData):
    changed_fields = fields.List(fields.String(), required=True)


class TeamEventData(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    manager_id = fields.String(required=True, allow_none=True)
    member_ids = fields.List(fields.String(), required=True)


class TeamUpdatedData(TeamEventData):
    changed_fields = fields.List(fields.String(), load_default=list)


class LoginEventData(Schema):
    user_id = fields.String(required=True, allow_none=True)
    email_hash = fields.String(required=True)
    client_ip = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True)


class RoleEventData(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    changed_fields = fields.List(fields.String(), load_default=list)


class ApiKeyEventData(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    owner_id = fields.String(required=True, allow_none=True)
    roles = fields.List(fields.String(), required=True)


class PrivacyRequestedData(Schema):
    request_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(PRIVACY_KINDS))
    email = fields.String(required=True)


USER_CREATED = event("identity", "user_created", 1, UserEventData, "A user was created.",
                     entity="user", action="create")
USER_UPDATED = event("identity", "user_updated", 1, UserUpdatedData, "A user changed (changed_fields).",
                     entity="user", action="update")
USER_DEACTIVATED = event("identity", "user_deactivated", 1, UserEventData, "A user was deactivated.",
                         entity="user", action="delete")
TEAM_CREATED = event("identity", "team_created", 1, TeamEventData, "A team was created.",
                     entity="team", action="create")
TEAM_UPDATED = event("identity", "team_updated", 1, TeamUpdatedData, "A team changed.",
                     entity="team", action="update")
TEAM_DELETED = event("identity", "team_deleted", 1, TeamEventData, "An empty team was deleted.",
                     entity="team", action="delete")
ROLE_CREATED = event("identity", "role_created", 1, RoleEventData, "A custom role was created.",
                     entity="role", action="create")
ROLE_UPDATED = event("identity", "role_updated", 1, RoleEventData, "A custom role changed.",
                     entity="role", action="update")
ROLE_DELETED = event("identity", "role_deleted", 1, RoleEventData, "A custom role was deleted.",
                     entity="role", action="delete")
API_KEY_CREATED = event("identity", "api_key_created", 1, ApiKeyEventData, "An API key was issued.",
                        entity="api_key", action="create")
API_KEY_REVOKED = event("identity", "api_key_revoked", 1, ApiKeyEventData, "An API key was revoked.",
                        entity="api_key", action="delete")
LOGIN_SUCCEEDED = event("identity", "login_succeeded", 1, LoginEventData, "A login succeeded.",
                        entity="user", action="login")
LOGIN_FAILED = event("identity", "login_failed", 1, LoginEventData, "A login failed (reason says why).",
                     entity="user", action="login_failed")
PRIVACY_REQUESTED = event("identity", "privacy_requested", 1, PrivacyRequestedData,
                          "Erase or export everything about an email address: every service answers with "
                          "its <service>.privacy_part_completed.v1.", entity="privacy_request", action="create")
PRIVACY_PART_COMPLETED = event("identity", "privacy_part_completed", 1, PrivacyPartSchema,
                               "Identity's own part of a privacy request is done.",
                               entity="privacy_request", action="update")


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """`{"items": [...], "next_cursor": ...}` of `item` (RPC output of lists)."""
    return type(name, (Schema,), {"items": fields.List(fields.Nested(item), required=True),
                                  "next_cursor": fields.String(allow_none=True)})


UserPage = page_of(UserSchema, "UserPage")
TeamPage = page_of(TeamSchema, "TeamPage")
RolePage = page_of(RoleSchema, "RolePage")
ApiKeyPage = page_of(ApiKeySchema, "ApiKeyPage")
AuditPage = page_of(AuditEntrySchema, "AuditPage")
PrivacyRequestPage = page_of(PrivacyRequestSchema, "PrivacyRequestPage")


# --------------------------------------------------------------------------------------------------
# RPC methods (the gateway calls these; inputs loaded with these schemas, outputs dumped)

LOGIN = rpc("identity", "login", LoginSchema, TokenPairSchema)
REFRESH = rpc("identity", "refresh", RefreshSchema, TokenPairSchema)
LOGOUT = rpc("identity", "logout", LogoutCallSchema, None)
CHANGE_PASSWORD = rpc("identity", "change_password", PasswordChangeSchema, None)
MFA_ENROLL = rpc("identity", "mfa_enroll", None, MfaEnrollmentSchema)
MFA_VERIFY = rpc("identity", "mfa_verify", MfaVerifySchema, MfaStatusSchema)
MFA_DISABLE = rpc("identity", "mfa_disable", MfaDisableSchema, MfaStatusSchema)
RESET_USER_MFA = rpc("identity", "reset_user_mfa", ByIdVersioned, None,
                     description="An administrator turns a user's second factor off (a lost device); revokes "
                                 "the user's sessions.")
GET_ME = rpc("identity", "get_me", None, MeSchema)
UPDATE_ME = rpc("identity", "update_me", MeUpdateSchema, UserSchema)

LIST_USERS = rpc("identity", "list_users", UserListArgs, UserPage)
GET_USER = rpc("identity", "get_user", ById, UserSchema)
CREATE_USER = rpc("identity", "create_user", UserCreateSchema, UserSchema)
CREATE_PORTAL_CUSTOMER = rpc("identity", "create_portal_customer", PortalCustomerCreateSchema, UserSchema)
UPDATE_USER = rpc("identity", "update_user", UpdateUserInput, UserSchema)
DEACTIVATE_USER = rpc("identity", "deactivate_user", ByIdVersioned, None)
OFFBOARD_USER = rpc("identity", "offboard_user", OffboardInput, PrivacyRequestSchema,
                    description="Offboard a staff member: an erasure request for their email that deactivates and "
                                "anonymises the account; never the caller or the last active administrator.")

LIST_TEAMS = rpc("identity", "list_teams", TeamListArgs, TeamPage)
GET_TEAM = rpc("identity", "get_team", ById, TeamSchema)
CREATE_TEAM = rpc("identity", "create_team", TeamCreateSchema, TeamSchema)
UPDATE_TEAM = rpc("identity", "update_team", UpdateTeamInput, TeamSchema)
DELETE_TEAM = rpc("identity", "delete_team", ByIdVersioned, None, description="Only a team without members.")

LIST_ROLES = rpc("identity", "list_roles", RoleListArgs, RolePage)
GET_ROLE = rpc("identity", "get_role", ById, RoleSchema)
CREATE_ROLE = rpc("identity", "create_role", RoleCreateSchema, RoleSchema)
UPDATE_ROLE = rpc("identity", "update_role", UpdateRoleInput, RoleSchema)
DELETE_ROLE = rpc("identity", "delete_role", ByIdVersioned, None)

LIST_API_KEYS = rpc("identity", "list_api_keys", ApiKeyListArgs, ApiKeyPage)
CREATE_API_KEY = rpc("identity", "create_api_key", ApiKeyCreateSchema, ApiKeyCreatedSchema)
REVOKE_API_KEY = rpc("identity", "revoke_api_key", ById, None)
AUTHENTICATE_API_KEY = rpc("identity", "authenticate_api_key", None, None,
                           description="(key, client_ip=None) -> Actor dict plus api_key_id, or "
                                       "ServiceError('unauthenticated'); the grants are the key's roles' within "
                                       "what its owner holds now")
TOKEN_CUTOFF = rpc("identity", "token_cutoff", None, None,
                   description="(user_id) -> {active, valid_after_us, valid_after, ended_sessions[], team_id, "
                               "territory_ids[]}: what the gateway checks an access token against on every "
                               "request (cached CRM_TOKEN_CUTOFF_CACHE seconds), and the user's membership now")

LIST_AUDIT = rpc("identity", "list_audit", AuditListArgs, AuditPage)

CREATE_PRIVACY_REQUEST = rpc("identity", "create_privacy_request", CreatePrivacyInput, PrivacyRequestSchema)
GET_PRIVACY_REQUEST = rpc("identity", "get_privacy_request", ById, PrivacyRequestSchema)
LIST_PRIVACY_REQUESTS = rpc("identity", "list_privacy_requests", PrivacyListArgs, PrivacyRequestPage)

