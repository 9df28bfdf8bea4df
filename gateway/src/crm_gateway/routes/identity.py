"""Routes of the identity context: sign-in, the caller, users, teams, roles, API keys, audit, privacy.

One line per route (crm_gateway.conventions): its contract's schemas validate and document it, its
contract's permission (or `access=`) is checked before anything else (app._identify -> check_permission).
"""
from __future__ import annotations

from flask import g, request

import crm_identity_contracts as c
from crm_gateway import auth
from crm_gateway.conventions import OWN_ACCOUNT, PUBLIC, SELF_SERVICE, Route, build, resource

OWN_ACCOUNT_ONLY = {403: "an API key may not act on its owner's account"}
SIGN_IN = ("Email and password (and `otp` when the account has a second factor) -> a token pair; throttled per "
           "account and per client address.")
PRIVACY_REQUEST = "/privacy/requests/{id}"


def client_ip() -> str | None:
    return request.remote_addr


def token_session() -> str | None:
    """The session (`sid`) of the access token used."""
    return g.get("session_id")


def forget_my_sessions(**call) -> None:
    auth.forget_sessions_of(g.actor.user_id)


def forget_key(id: str, **call) -> None:  # noqa: A002 - the call's keyword
    auth.forget_api_key(id)


ROUTES = [
    Route("POST", "/auth/login", c.LOGIN, access=PUBLIC, options={"client_ip": client_ip}, summary=SIGN_IN,
          answers={401: "wrong credentials (the same answer whether or not the email exists)",
                   429: "too many failures for this account or address (Retry-After)"}),
    Route("POST", "/auth/refresh", c.REFRESH, access=PUBLIC, options={"client_ip": client_ip}),
    Route("POST", "/auth/password-reset", c.REQUEST_PASSWORD_RESET, 202, access=PUBLIC, location="",
          options={"client_ip": client_ip}, answers={429: "too many requests from this client"}),
    Route("POST", "/auth/password-reset/confirm", c.CONFIRM_PASSWORD_RESET, 204, access=PUBLIC),
    Route("POST", "/auth/verify-email", c.VERIFY_EMAIL, 204, access=PUBLIC),
    Route("POST", "/auth/logout", c.LOGOUT, 204, access=OWN_ACCOUNT, options={"session_id": token_session},
          after=forget_my_sessions, answers=OWN_ACCOUNT_ONLY,
          summary="With `refresh_token`: end that session and the one of the access token used; without: every "
                  "session of the caller. Their access tokens stop working within seconds."),
    Route("POST", "/auth/password", c.CHANGE_PASSWORD, 204, access=OWN_ACCOUNT, after=forget_my_sessions,
          answers=OWN_ACCOUNT_ONLY),
    Route("POST", "/auth/mfa/enroll", c.MFA_ENROLL, access=OWN_ACCOUNT),
    Route("POST", "/auth/mfa/verify", c.MFA_VERIFY, access=OWN_ACCOUNT),
    Route("POST", "/auth/mfa/disable", c.MFA_DISABLE, access=OWN_ACCOUNT),
    Route("GET", "/me", c.GET_ME, access=SELF_SERVICE),
    Route("PATCH", "/me", c.UPDATE_ME, access=OWN_ACCOUNT),

    *resource("users", c.LIST_USERS, c.CREATE_USER, c.GET_USER, c.UPDATE_USER),
    Route("DELETE", "/users/<id>", c.DEACTIVATE_USER, 204),
    Route("DELETE", "/users/<id>/mfa", c.RESET_USER_MFA, 204,
          summary="Turn the user's second factor off (a lost device) and revoke their sessions; they enroll again."),
    Route("POST", "/users/<id>/offboard", c.OFFBOARD_USER, 202, location=PRIVACY_REQUEST, idempotent=False,
          answers={409: "the caller themself, or the last active administrator"},
          summary="Offboard a staff member (confirm with their email): deactivates and anonymises the account "
                  "and erases what every service holds about that email; the answer is the erasure request."),
    Route("POST", "/portal-customers", c.CREATE_PORTAL_CUSTOMER, 201, location="/users/{id}"),
    Route("POST", "/partner-users", c.CREATE_PARTNER_USER, 201, location="/users/{id}"),

    *resource("teams", c.LIST_TEAMS, c.CREATE_TEAM, c.GET_TEAM, c.UPDATE_TEAM, c.DELETE_TEAM),
    *resource("roles", c.LIST_ROLES, c.CREATE_ROLE, c.GET_ROLE, c.UPDATE_ROLE, c.DELETE_ROLE),
    *resource("api-keys", c.LIST_API_KEYS, c.CREATE_API_KEY),
    Route("PATCH", "/api-keys/<id>", c.UPDATE_API_KEY, after=forget_key, if_match=False,
          summary="Rename a key or set its own rate limit: in force at once in the gateway worker that changed it, "
                  "in the others within CRM_API_KEY_CACHE seconds."),
    Route("DELETE", "/api-keys/<id>", c.REVOKE_API_KEY, 204, after=forget_key,
          summary="The key stops working at once in the gateway worker that revoked it, in the others within "
                  "CRM_API_KEY_CACHE seconds."),

    Route("GET", "/audit", c.LIST_AUDIT),

    Route("POST", "/privacy/erasure-requests", c.CREATE_PRIVACY_REQUEST, 202, location=PRIVACY_REQUEST,
          options={"kind": "erasure"}, summary="Erase everything about an email address, in every service."),
    Route("POST", "/privacy/export-requests", c.CREATE_PRIVACY_REQUEST, 202, location=PRIVACY_REQUEST,
          options={"kind": "export"}, summary="Export everything every service holds about an email address."),
    Route("GET", "/privacy/requests", c.LIST_PRIVACY_REQUESTS),
    Route("GET", "/privacy/requests/<id>", c.GET_PRIVACY_REQUEST),
]

blueprints = build("identity", ROUTES)
