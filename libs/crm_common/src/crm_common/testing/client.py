"""A small HTTP client for end-to-end tests: talks to the gateway like any client would."""
from __future__ import annotations

import base64
import json
import time
import uuid

import requests

from crm_common import httpclient

REFRESH_MARGIN_SECONDS = 60


def token_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT, read without verifying it (the gateway verifies; the client only plans)."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        return float(json.loads(base64.urlsafe_b64decode(payload))["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


class ApiClient:
    def __init__(self, base_url: str, token: str | None = None, api_key: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.http = httpclient.pooled_session()
        self.token = token
        self.api_key = api_key
        self.user: dict | None = None
        self.refresh_token: str | None = None

    def _refresh_if_expiring(self) -> None:
        """Like any long-lived client: swap the access token for a new pair shortly before it expires."""
        if not (self.token and self.refresh_token):
            return
        expiry = token_expiry(self.token)
        if expiry is None or expiry - time.time() > REFRESH_MARGIN_SECONDS:
            return
        response = httpclient.send(self.http, "POST", self.base_url + "/api/v1/auth/refresh",
                                   json={"refresh_token": self.refresh_token}, timeout=30)
        if response.status_code == 200:
            tokens = response.json()
            self.token, self.refresh_token = tokens["access_token"], tokens["refresh_token"]

    def _headers(self, headers: dict | None) -> dict:
        result = {}
        if self.token:
            result["Authorization"] = f"Bearer {self.token}"
        if self.api_key:
            result["X-API-Key"] = self.api_key
        result.update(headers or {})
        return result

    def request(self, method: str, path: str, headers: dict | None = None, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        self._refresh_if_expiring()
        return httpclient.send(self.http, method, self.base_url + path, headers=self._headers(headers), **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def clone(self, token: str | None = None, api_key: str | None = None) -> "ApiClient":
        other = ApiClient(self.base_url, token=token, api_key=api_key)
        for attr in ("suite", "backend", "admin_email", "admin_password"):
            if hasattr(self, attr):
                setattr(other, attr, getattr(self, attr))
        return other

    def login(self, email: str, password: str, otp: str | None = None) -> "ApiClient":
        body = {"email": email, "password": password}
        if otp:
            body["otp"] = otp
        response = httpclient.send(self.http, "POST", self.base_url + "/api/v1/auth/login", json=body, timeout=30)
        assert response.status_code == 200, response.text
        tokens = response.json()
        client = self.clone(token=tokens["access_token"])
        client.refresh_token = tokens["refresh_token"]
        me = client.get("/api/v1/me")
        assert me.status_code == 200, me.text
        client.user = me.json()
        return client

    def create_user(self, roles: list[str], team_id: str | None = None, territory_ids: list[str] | None = None,
                    password: str = "Str0ng-Passw0rd-42!", **fields) -> dict:
        """As an admin: create a user with the given roles; returns the user with its password."""
        body = {"email": f"user-{uuid.uuid4().hex[:10]}@crm.test", "full_name": "Test User",
                "password": password, "roles": roles}
        if team_id:
            body["team_id"] = team_id
        if territory_ids:
            body["territory_ids"] = territory_ids
        body.update(fields)
        response = self.post("/api/v1/users", json=body)
        assert response.status_code == 201, response.text
        user = response.json()
        user["password"] = password
        return user

    def as_new_user(self, roles: list[str], **kwargs) -> "ApiClient":
        """As an admin: create a user with these roles and return a client logged in as that user."""
        user = self.create_user(roles, **kwargs)
        return self.login(user["email"], user["password"])
