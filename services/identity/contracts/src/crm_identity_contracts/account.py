"""The caller's own account: who they are, their name, their password and their second factor."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Boolean
from crm_common.contracts.registry import rpc
from crm_common.contracts.schemas import Patch, Strict
from crm_identity_contracts.fields import OTP, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, PASSWORD_RULE, SECRET, \
    Grant, Password
from crm_identity_contracts.users import UserSchema


class MeSchema(UserSchema):
    kind = fields.String(required=True)
    perms = Grant()


class MeUpdateSchema(Patch):
    """What anyone may change about themself; every other field is an administrator's (422 here)."""

    full_name = fields.String(validate=validate.Length(min=1, max=200))


class PasswordChangeSchema(Strict):
    RULES = (PASSWORD_RULE, f"new_password has {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters")

    current_password = fields.String(required=True, validate=SECRET, load_only=True)
    new_password = Password(required=True)


class MfaEnrollmentSchema(Schema):
    secret = fields.String(required=True)
    otpauth_uri = fields.String(required=True)


class MfaVerifySchema(Strict):
    otp = fields.String(required=True, validate=OTP)


class MfaDisableSchema(Strict):
    """Turning one's own second factor off takes the password and a current code."""
    password = fields.String(required=True, validate=SECRET, load_only=True)
    otp = fields.String(required=True, validate=OTP)


class MfaStatusSchema(Schema):
    mfa_enabled = Boolean(required=True)


GET_ME = rpc("identity", "get_me", None, MeSchema,
             description="The caller, with roles, grants, team and territories as resolved now.")
UPDATE_ME = rpc("identity", "update_me", MeUpdateSchema, UserSchema)
CHANGE_PASSWORD = rpc("identity", "change_password", PasswordChangeSchema, None,
                      description="A new password after the current one; ends the caller's live sessions.")
MFA_ENROLL = rpc("identity", "mfa_enroll", None, MfaEnrollmentSchema)
MFA_VERIFY = rpc("identity", "mfa_verify", MfaVerifySchema, MfaStatusSchema)
MFA_DISABLE = rpc("identity", "mfa_disable", MfaDisableSchema, MfaStatusSchema)
