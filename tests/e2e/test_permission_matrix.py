"""Every built-in role against every protected route, with the expectation written down literally in
`permission_matrix.txt` (next to this file), never derived from the grants under test.

A role the matrix does not name gets 403 and nothing changes; a role it names never gets 403 (the dummy
requests carry ids nobody has and empty bodies, so allowed calls end in 404 or 422, never in a write).
"""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from crm_common.permissions import BUILTIN_ROLES
from crm_gateway.app import create_app
from crm_gateway.permission_matrix import example_path, protected_api_routes, read_matrix
from crm_gateway.settings import Settings

pytestmark = pytest.mark.e2e

WRITTEN = read_matrix((Path(__file__).parent / "permission_matrix.txt").read_text(encoding="utf-8"))
LAST = ("POST", "/api/v1/auth/logout")  # ends the caller's sessions: called after every other route


@pytest.fixture(scope="module")
def route_table(tmp_path_factory):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('m') / 'g.db'}"))
    return sorted(protected_api_routes(app), key=lambda r: (r.key == LAST, r.key[1].startswith("/api/v1/auth/")))


def test_the_written_matrix_has_a_row_for_every_protected_route_and_no_other(route_table):
    served = {r.key for r in route_table}
    assert sorted(served - WRITTEN.rows.keys()) == [], "write these routes' rows in permission_matrix.txt"
    assert sorted(WRITTEN.rows.keys() - served) == [], "these rows name routes the gateway no longer serves"
    assert set(WRITTEN.roles) == set(BUILTIN_ROLES)


@pytest.mark.parametrize("role", sorted(BUILTIN_ROLES))
def test_role_gets_exactly_what_the_written_matrix_says(role, admin, route_table):
    if role == "customer":
        client = admin.as_new_user([role], **_customer_fields())
    elif role == "partner_manager":  # a partner's manager is a partner user too (its grants include partner's)
        client = admin.as_new_user(["partner", role], partner_id=str(uuid.uuid4()))
    else:
        client = admin.as_new_user([role])
    mismatches = []
    for route in route_table:
        if route.key not in WRITTEN.rows:
            continue  # the test above names it
        path = example_path(route.rule)
        kwargs = {"json": {}} if route.method in ("POST", "PATCH", "PUT") else {}
        response = client.request(route.method, path, **kwargs)
        assert response.status_code < 500, f"{route.method} {path} as {role}: {response.status_code} {response.text}"
        expected = role in WRITTEN.rows[route.key].roles
        if (response.status_code == 403) == expected:
            mismatches.append(f"{route.method} {route.key[1]}: {response.status_code}, the matrix says "
                              + ("allowed" if expected else "denied"))
    assert mismatches == []


def _customer_fields():
    return {"contact_id": str(uuid.uuid4())}  # a portal customer acts as one contact
