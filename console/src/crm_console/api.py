"""The console's only way to the CRM: the gateway's /api/v1 over HTTP, with the signed-in user's tokens.

An expired access token is refreshed once, silently, with the refresh token kept in the server-side session;
when that fails too the user signs in again (LoginRequired). Errors come back as ApiError with the problem.
"""
from __future__ import annotations

import os
import threading

import requests
from flask import current_app, g, session

from crm_common import httpclient

_local = threading.local()


class ApiError(Exception):
    def __init__(self, status: int, problem: dict | None):
        self.status = status
        self.problem = problem if isinstance(problem, dict) else {}
        super().__init__(f"{status} {self.problem.get('title', '')}")

    @property
    def errors(self) -> dict:
        """Field -> messages (problem+json `errors`), for messages beside the fields."""
        errors = self.problem.get("errors")
        return errors if isinstance(errors, dict) else {}

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or self.problem.get("title") or "")


class LoginRequired(Exception):
    pass


def base_url() -> str:
    configured = current_app.config.get("CRM_API_URL") or os.environ.get("CRM_CONSOLE_API_URL")
    if configured:
        return configured.rstrip("/")
    return f"http://127.0.0.1:{os.environ.get('CRM_PORT') or 8080}"


def _http() -> requests.Session:
    http = getattr(_local, "http", None)
    if http is None:
        http = _local.http = httpclient.pooled_session(pool_size=4)
    return http


def raw(method: str, path: str, *, token: str | None = None, json=None, params=None, headers=None):
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    rid = getattr(g, "request_id", None)
    if rid:
        headers["X-Request-ID"] = rid
    url = f"{base_url()}/api/v1{path}"
    try:
        return httpclient.send(_http(), method, url, json=json, params=params, headers=headers, timeout=15)
    except requests.RequestException as exc:
        current_app.logger.warning("console: %s %s failed: %s", method, path, type(exc).__name__)
        raise ApiError(503, {"title": "unavailable", "detail": "the CRM gateway"}) from None


def _problem(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def call(method: str, path: str, *, json=None, params=None, headers=None, with_response: bool = False,
         may_refresh: bool = True):
    """Call the API as the signed-in user; the JSON body (or (body, response)); ApiError for 4xx/5xx.
    Calls made side by side pass may_refresh=False after ensure_fresh(): a refresh token works once."""
    tokens = session.get("tokens")
    if not tokens:
        raise LoginRequired()
    response = raw(method, path, token=tokens["access_token"], json=json, params=params, headers=headers)
    if response.status_code == 401 and may_refresh and refresh():
        response = raw(method, path, token=session["tokens"]["access_token"], json=json, params=params,
                       headers=headers)
    if response.status_code == 401:
        session.pop("tokens", None)
        raise LoginRequired()
    if response.status_code >= 400:
        raise ApiError(response.status_code, _problem(response))
    body = response.json() if response.content and "json" in response.headers.get("Content-Type", "") else None
    return (body, response) if with_response else body


def ensure_fresh(margin: float = 30) -> None:
    """Refresh now when the access token expires within `margin` seconds (before calls side by side)."""
    import base64
    import json as _json
    import time
    tokens = session.get("tokens") or {}
    try:
        payload = tokens["access_token"].split(".")[1]
        claims = _json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        expires = float(claims["exp"])
    except (KeyError, IndexError, ValueError, TypeError):
        return
    if expires - time.time() < margin:
        refresh()


def refresh() -> bool:
    tokens = session.get("tokens") or {}
    if not tokens.get("refresh_token"):
        return False
    response = raw("POST", "/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    if response.status_code != 200:
        return False
    session["tokens"] = _keep(response.json())
    return True


def login(email: str, password: str, otp: str | None = None) -> dict:
    """The token pair; ApiError(401) with problem["mfa"] == "required" / "invalid" for the MFA step."""
    body = {"email": email, "password": password}
    if otp:
        body["otp"] = otp
    response = raw("POST", "/auth/login", json=body)
    if response.status_code != 200:
        raise ApiError(response.status_code, _problem(response))
    return _keep(response.json())


def logout() -> None:
    tokens = session.get("tokens") or {}
    if tokens.get("refresh_token"):
        try:
            raw("POST", "/auth/logout", token=tokens.get("access_token"),
                json={"refresh_token": tokens["refresh_token"]})
        except ApiError:
            pass


def _keep(pair: dict) -> dict:
    return {"access_token": pair["access_token"], "refresh_token": pair["refresh_token"]}
