"""The role-by-route matrix tested in full: every built-in role against every protected route.

A role the matrix denies gets 403 and nothing changes; a role it allows never gets 403 (the dummy
requests carry ids nobody has and empty bodies, so allowed calls end in 404 or 422, never in a write).
"""
from __future__ import annotations

import uuid

import pytest

from crm_common.permissions import BUILTIN_ROLES
from crm_gateway.app import create_app
from crm_gateway.permission_matrix import allowed, example_path, routes
from crm_gateway.settings import Settings

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def route_table(tmp_path_factory):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('m') / 'g.db'}"))
    return [r for r in routes(app) if r.permission is not None and r.rule.startswith("/api/v1/")
            and not r.rule.startswith("/api/v1/auth/")]


@pytest.mark.parametrize("role", sorted(BUILTIN_ROLES))
def test_role_gets_exactly_what_the_matrix_says(role, admin, route_table):
    client = admin.as_new_user([role]) if role != "customer" else admin.as_new_user([role], **_customer_fields())
    mismatches = []
    for route in route_table:
        path = example_path(route.rule)
        kwargs = {"json": {}} if route.method in ("POST", "PATCH", "PUT") else {}
        response = client.request(route.method, path, **kwargs)
        assert response.status_code < 500, f"{route.method} {path} as {role}: {response.status_code} {response.text}"
        denied = response.status_code == 403
        if denied == allowed(role, route):
            mismatches.append(f"{route.method} {route.rule}: {response.status_code}")
    assert mismatches == []


def _customer_fields():
    return {"contact_id": str(uuid.uuid4())}  # a portal customer acts as one contact
