"""Password reset by email and email verification: single-use, expiring tokens mailed to the person."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Text
from crm_common.contracts.registry import rpc
from crm_common.contracts.schemas import Strict


class PasswordResetRequest(Strict):
    email = Text(required=True, validate=validate.Length(min=3, max=254))


class ResetAccepted(Schema):
    detail = fields.String()


class PasswordResetConfirm(Strict):
    RULES = ("the token is one mailed for a reset, unused and unexpired; the password meets the password policy",)

    token = Text(required=True, validate=validate.Length(min=20, max=100))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256), load_only=True)


class VerifyEmail(Strict):
    RULES = ("the token is one mailed for verification, unused and unexpired",)

    token = Text(required=True, validate=validate.Length(min=20, max=100))


# no permission: anyone may ask (the answer is the same whether or not the address exists), the token proves the rest
REQUEST_PASSWORD_RESET = rpc("identity", "request_password_reset", PasswordResetRequest, ResetAccepted,
                             description="Mail a single-use reset token to the address if it is a user's (throttled); "
                                         "the same answer either way.")
CONFIRM_PASSWORD_RESET = rpc("identity", "confirm_password_reset", PasswordResetConfirm, None,
                             description="Set a new password with a mailed reset token; every session of the user ends.")
VERIFY_EMAIL = rpc("identity", "verify_email", VerifyEmail, None,
                   description="Confirm a user's email address with the token mailed when the user was created.")
