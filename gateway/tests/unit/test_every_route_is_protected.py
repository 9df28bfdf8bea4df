"""Every route is either public on purpose or declares the permission it needs."""
from __future__ import annotations

from crm_gateway.app import create_app
from crm_gateway.permission_matrix import matrix, routes
from crm_gateway.settings import Settings

PUBLIC_ON_PURPOSE = {"/healthz", "/readyz", "/openapi.json", "/docs", "/docs/<path:filename>",
                     "/api/v1/auth/login", "/api/v1/auth/refresh"}
PUBLIC_PREFIXES = ("/f/", "/t/", "/u/", "/api/v1/surveys/<")
PUBLIC_PREFIXES += ("/c/",)  # the double opt-in confirmation link
PUBLIC_ON_PURPOSE |= {"/metrics"}  # Prometheus: no caller, but answered only to private addresses (404 otherwise)
PUBLIC_ON_PURPOSE |= {"/asyncapi.json"}  # the event catalogue as AsyncAPI, public as /openapi.json is (API.md)
PUBLIC_ON_PURPOSE |= {"/api/v1/auth/password-reset", "/api/v1/auth/password-reset/confirm",
                      "/api/v1/auth/verify-email"}  # the mailed token is the credential (domain/email_tokens.py)


def test_no_route_is_neither_public_nor_protected(tmp_path):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'g.db'}"))
    unprotected = [(r.method, r.rule) for r in routes(app) if r.permission == ("?", "?")]
    assert unprotected == []
    public = {r.rule for r in routes(app) if r.permission is None}
    unexpected = {p for p in public if p not in PUBLIC_ON_PURPOSE and not p.startswith(PUBLIC_PREFIXES)
                  and not p.startswith("/static")}
    assert unexpected == set()


def test_admin_may_call_everything_and_customers_little(tmp_path):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'g.db'}"))
    table = matrix(app)
    assert all(row["admin"] for row in table.values())
    protected = [row for key, row in table.items() if key[1] not in PUBLIC_ON_PURPOSE]
    assert protected and not all(row["customer"] for row in protected)
