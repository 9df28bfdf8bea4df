"""Roles: the built-in ones (read-only) and the custom roles an administrator defines."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Boolean, Sort, Timestamp
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import ListQuery, Patch, Strict, page
from crm_identity_contracts.fields import ROLE_NAME, Grant, Grants

_DESCRIPTION = validate.Length(max=500)


class RoleSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(allow_none=True)
    builtin = Boolean(required=True)
    permissions = Grant(required=True)
    created_at = Timestamp(allow_none=True)
    version = fields.Integer(strict=True, allow_none=True)


class RoleCreateSchema(Strict):
    RULES = ("permissions are no wider than the caller's own",)

    name = fields.String(required=True, validate=ROLE_NAME)
    description = fields.String(load_default=None, allow_none=True, validate=_DESCRIPTION)
    permissions = Grants(required=True)


class RoleUpdateSchema(Patch):
    RULES = RoleCreateSchema.RULES

    description = fields.String(allow_none=True, validate=_DESCRIPTION)
    permissions = Grants()


class RoleListArgs(ListQuery):
    SORTABLE = ("created_at", "name")
    sort = Sort(load_default="name")
    builtin = fields.Boolean()


RolePage = page(RoleSchema, "RolePage")


class RoleEventData(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    changed_fields = fields.List(fields.String(), load_default=list)


ROLE_CREATED = event("identity", "role_created", 1, RoleEventData, "A custom role was created.",
                     entity="role", action="create")
ROLE_UPDATED = event("identity", "role_updated", 1, RoleEventData, "A custom role changed.",
                     entity="role", action="update")
ROLE_DELETED = event("identity", "role_deleted", 1, RoleEventData, "A custom role was deleted.",
                     entity="role", action="delete")

LIST_ROLES = rpc("identity", "list_roles", RoleListArgs, RolePage, permission=("role", "read"))
GET_ROLE = rpc("identity", "get_role", None, RoleSchema, permission=("role", "read"), record=True)
CREATE_ROLE = rpc("identity", "create_role", RoleCreateSchema, RoleSchema, permission=("role", "create"))
UPDATE_ROLE = rpc("identity", "update_role", RoleUpdateSchema, RoleSchema, permission=("role", "update"),
                  record=True, description="A grant change ends its holders' sessions.")
DELETE_ROLE = rpc("identity", "delete_role", None, None, permission=("role", "delete"), record=True)
