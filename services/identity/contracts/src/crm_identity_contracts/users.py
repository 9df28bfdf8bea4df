"""Users: staff and portal customers, their records, lists and events."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Boolean, Timestamp, existing
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import ListQuery, Patch, Strict, page
from crm_identity_contracts.fields import EMAIL, PASSWORD_RULE, ROLE_NAME, Password

_SALES_ID = validate.Length(max=36)  # an account or contact id of sales


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
    partner_id = fields.String(allow_none=True, metadata={"description": "role partner: the partner (sales) "
                                                                         "whose records the user sees"})
    created_at = Timestamp(required=True)
    updated_at = Timestamp()
    version = fields.Integer(strict=True)


class UserCreateSchema(Strict):
    RULES = (PASSWORD_RULE, "roles name existing roles granting no more than the caller's own", existing("team_id"),
             "account_id and contact_id are for portal customers only (role customer, which needs contact_id)",
             "partner_id is for partner users only (role partner)")

    email = fields.String(required=True, validate=EMAIL)
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    password = Password(required=True)
    roles = fields.List(fields.String(validate=ROLE_NAME), load_default=list)
    team_id = fields.String(load_default=None, allow_none=True)
    territory_ids = fields.List(fields.String(validate=_SALES_ID), load_default=list)
    is_active = Boolean(load_default=True)
    account_id = fields.String(load_default=None, allow_none=True, validate=_SALES_ID)
    contact_id = fields.String(load_default=None, allow_none=True, validate=_SALES_ID)
    partner_id = fields.String(load_default=None, allow_none=True, validate=_SALES_ID)


class PortalCustomerCreateSchema(Strict):
    RULES = (PASSWORD_RULE,)

    email = fields.String(required=True, validate=EMAIL)
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    password = Password(required=True)
    account_id = fields.String(load_default=None, allow_none=True, validate=_SALES_ID)
    contact_id = fields.String(required=True, validate=validate.Length(min=1, max=36))


class PartnerUserCreateSchema(Strict):
    RULES = (PASSWORD_RULE, "partner_id: a partner's own manager creates users of their partner only (it may be "
             "left out); a channel manager or an administrator names the partner")

    email = fields.String(required=True, validate=EMAIL)
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    password = Password(required=True)
    partner_id = fields.String(load_default=None, allow_none=True, validate=_SALES_ID)
    manager = Boolean(load_default=False, metadata={"description": "also the partner_manager role: the new user "
                                                                   "creates their partner's users in turn"})


class UserUpdateSchema(Patch):
    RULES = UserCreateSchema.RULES

    email = fields.String(validate=EMAIL)
    full_name = fields.String(validate=validate.Length(min=1, max=200))
    password = Password()
    roles = fields.List(fields.String(validate=ROLE_NAME))
    team_id = fields.String(allow_none=True)
    territory_ids = fields.List(fields.String(validate=_SALES_ID))
    is_active = Boolean()
    account_id = fields.String(allow_none=True, validate=_SALES_ID)
    contact_id = fields.String(allow_none=True, validate=_SALES_ID)
    partner_id = fields.String(allow_none=True, validate=_SALES_ID)


class UserListArgs(ListQuery):
    SORTABLE = ("created_at", "email", "full_name")
    email = fields.String(validate=validate.Length(max=254))
    team_id = fields.String()
    role = fields.String(validate=validate.Length(max=50))
    is_active = fields.Boolean()


UserPage = page(UserSchema, "UserPage")


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


USER_CREATED = event("identity", "user_created", 1, UserEventData, "A user was created.",
                     entity="user", action="create")
USER_UPDATED = event("identity", "user_updated", 1, UserUpdatedData, "A user changed (changed_fields).",
                     entity="user", action="update")
USER_DEACTIVATED = event("identity", "user_deactivated", 1, UserEventData, "A user was deactivated.",
                         entity="user", action="delete")

LIST_USERS = rpc("identity", "list_users", UserListArgs, UserPage, permission=("user", "read"))
GET_USER = rpc("identity", "get_user", None, UserSchema, permission=("user", "read"), record=True)
CREATE_USER = rpc("identity", "create_user", UserCreateSchema, UserSchema, permission=("user", "create"))
CREATE_PORTAL_CUSTOMER = rpc("identity", "create_portal_customer", PortalCustomerCreateSchema, UserSchema,
                             permission=("ticket", "admin"),
                             description="A portal customer (role customer, acting as a contact): created by "
                                         "administrators (user.create) and support managers (ticket.admin on "
                                         "every record).")
CREATE_PARTNER_USER = rpc("identity", "create_partner_user", PartnerUserCreateSchema, UserSchema,
                          permission=("partner_user", "create"),
                          description="A partner user (role partner, seeing their partner's records): created by "
                                      "the partner's own managers (role partner_manager) for their partner, and by "
                                      "channel managers and administrators for any partner.")
UPDATE_USER = rpc("identity", "update_user", UserUpdateSchema, UserSchema, permission=("user", "update"),
                  record=True)
DEACTIVATE_USER = rpc("identity", "deactivate_user", None, None, permission=("user", "delete"), record=True)
RESET_USER_MFA = rpc("identity", "reset_user_mfa", None, None, permission=("user", "admin"), record=True,
                     description="An administrator turns a user's second factor off (a lost device); revokes "
                                 "the user's sessions.")
