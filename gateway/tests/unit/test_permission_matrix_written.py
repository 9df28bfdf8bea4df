"""The written permission matrix (tests/e2e/permission_matrix.txt) against the gateway's routes and the
built-in roles' grants: a new route without its row, a row without its route, or a grant that differs
from what is written fails here in seconds, without a broker."""
from __future__ import annotations

from pathlib import Path

import pytest

from crm_common.permissions import BUILTIN_ROLES
from crm_gateway.app import create_app
from crm_gateway.permission_matrix import allowed, protected_api_routes, read_matrix
from crm_gateway.settings import Settings

MATRIX_FILE = Path(__file__).resolve().parents[3] / "tests" / "e2e" / "permission_matrix.txt"


@pytest.fixture(scope="module")
def written():
    return read_matrix(MATRIX_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('m') / 'g.db'}"))
    table = protected_api_routes(app)
    assert len({r.key for r in table}) == len(table), "two rules read the same as METHOD /path"
    return {r.key: r for r in table}


def test_the_matrix_is_written_for_exactly_the_builtin_roles(written):
    assert set(written.roles) == set(BUILTIN_ROLES), "a built-in role was added or removed: review every row for it"


def test_every_protected_route_has_its_row_and_every_row_its_route(written, served):
    unwritten = sorted(f"{m} {p}" for m, p in served.keys() - written.rows.keys())
    gone = sorted(f"{m} {p}" for m, p in written.rows.keys() - served.keys())
    assert unwritten == [], "write these routes' rows in tests/e2e/permission_matrix.txt"
    assert gone == [], "these rows name routes the gateway no longer serves"


def test_every_route_declares_the_permission_its_row_names(written, served):
    differing = [f"{m} {p}: declares {'.'.join(route.permission)}, written {'.'.join(written.rows[m, p].permission)}"
                 for (m, p), route in sorted(served.items())
                 if (m, p) in written.rows and route.permission != written.rows[m, p].permission]
    assert differing == []


def test_the_grants_allow_exactly_the_roles_each_row_names(written, served):
    differing = []
    for key, route in sorted(served.items()):
        if key not in written.rows:
            continue
        granted = {role for role in BUILTIN_ROLES if allowed(role, route)}
        expected = set(written.rows[key].roles)
        if granted != expected:
            extra, missing = sorted(granted - expected), sorted(expected - granted)
            differing.append(f"{key[0]} {key[1]}: the grants also allow {extra}, and deny {missing}")
    assert differing == []


def test_admin_may_call_every_route_and_a_customer_few(written):
    assert all("admin" in row.roles for row in written.rows.values())
    customer = [key for key, row in written.rows.items() if "customer" in row.roles]
    assert 0 < len(customer) < len(written.rows) / 4


HEAD = "roles: admin, sales_rep\n"


@pytest.mark.parametrize("text, complaint", [
    ("GET /api/v1/leads [lead.read]: admin\n", "the 'roles:' line comes before"),
    (HEAD + "GET /api/v1/leads [lead.read]: admin, analyst\n", "unknown role(s) analyst"),
    (HEAD + "GET /api/v1/leads [lead.read]: sales_rep, admin\n", "in the order of the 'roles:' line"),
    (HEAD + "GET /api/v1/leads [lead.read]: admin, admin\n", "in the order of the 'roles:' line"),
    (HEAD + "GET /api/v1/leads [lead.read]:\n", "expected 'METHOD /path [resource.action]: role"),
    (HEAD + "GET /api/v1/leads: admin\n", "expected 'METHOD /path [resource.action]'"),
    (HEAD + "FETCH /api/v1/leads [lead.read]: admin\n", "expected 'METHOD /path [resource.action]'"),
    (HEAD + "GET /api/v1/leads [lead.read]: admin\nGET /api/v1/leads [lead.read]: admin, sales_rep\n",
     "GET /api/v1/leads is written twice"),
    ("# nothing\n", "no 'roles:' line"),
])
def test_a_malformed_matrix_is_refused_with_the_line(text, complaint):
    with pytest.raises(ValueError) as refused:
        read_matrix(text)
    assert complaint in str(refused.value)


def test_comments_and_blank_lines_are_skipped():
    row = "GET    /api/v1/leads/{record_id} [lead.read]:  admin, sales_rep  # why\n"
    matrix = read_matrix(HEAD + "\n# a comment\n" + row)
    assert list(matrix.rows) == [("GET", "/api/v1/leads/{record_id}")]
    assert matrix.rows["GET", "/api/v1/leads/{record_id}"].roles == {"admin", "sales_rep"}
    assert matrix.rows["GET", "/api/v1/leads/{record_id}"].permission == ("lead", "read")
