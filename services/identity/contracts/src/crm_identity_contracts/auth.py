"""Signing in: login, refresh and logout, and the login events."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import Strict
from crm_identity_contracts.fields import SECRET

_REFRESH_TOKEN = validate.Length(min=1, max=200)


class LoginSchema(Strict):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=SECRET, load_only=True)
    otp = fields.String(load_default=None, validate=validate.Length(max=12), load_only=True)


class RefreshSchema(Strict):
    refresh_token = fields.String(required=True, validate=_REFRESH_TOKEN, load_only=True)


class LogoutSchema(Strict):
    refresh_token = fields.String(load_default=None, validate=_REFRESH_TOKEN, load_only=True)


class TokenPairSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_in = fields.Integer(strict=True, required=True)


class LoginEventData(Schema):
    user_id = fields.String(required=True, allow_none=True)
    email_hash = fields.String(required=True)
    client_ip = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True)


LOGIN_SUCCEEDED = event("identity", "login_succeeded", 1, LoginEventData, "A login succeeded.",
                        entity="user", action="login")
LOGIN_FAILED = event("identity", "login_failed", 1, LoginEventData, "A login failed (reason says why).",
                     entity="user", action="login_failed")

LOGIN = rpc("identity", "login", LoginSchema, TokenPairSchema,
            description="Email and password (and `otp` when the account has a second factor) -> a token pair; "
                        "throttled per account and per client address (the call's `client_ip`).")
REFRESH = rpc("identity", "refresh", RefreshSchema, TokenPairSchema,
              description="Rotates a refresh token; a reused one revokes its chain.")
LOGOUT = rpc("identity", "logout", LogoutSchema, None,
             description="With `refresh_token`: end that session and the one of the access token used (the "
                         "call's `session_id`); without: every session of the caller. Their access tokens stop "
                         "working within seconds.")

TOKEN_CUTOFF = rpc("identity", "token_cutoff", None, None, record=True,
                   description="(id=user_id) -> {active, valid_after_us, valid_after, ended_sessions[], team_id, "
                               "territory_ids[]}: what the gateway checks an access token against on every "
                               "request (cached CRM_TOKEN_CUTOFF_CACHE seconds), and the user's membership now")
