"""The role-by-route permission matrix: the routes the gateway serves with the permission each declares,
what the built-in roles' grants allow on them, and the reader of the written-down expected matrix.

The expected matrix is written literally in `tests/e2e/permission_matrix.txt`, one line per protected
`/api/v1/` route: `METHOD /path: role, role, ...` naming the built-in roles that may call it. The unit
tests compare it with `allowed()` (the grants as they are) and the end-to-end test with real answers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Flask

from crm_common.context import Actor
from crm_common.permissions import BUILTIN_ROLES
from crm_gateway.auth import declared_permission, is_public, self_service

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CONVERTER = re.compile(r"<(?:[^:>]+:)?([^>]+)>")


@dataclass(frozen=True)
class Route:
    method: str
    rule: str
    endpoint: str
    permission: tuple[str, str] | None  # None: public

    @property
    def key(self) -> tuple[str, str]:
        """(method, path) as the written matrix names the route: `/api/v1/leads/{record_id}`."""
        return self.method, CONVERTER.sub(r"{\1}", self.rule)


def routes(app: Flask) -> list[Route]:
    public_endpoints = app.extensions.get("crm_public_endpoints", set())
    result = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            permission = declared_permission(view, method)
            if is_public(view, method) or rule.endpoint in public_endpoints:
                permission = None
            elif permission is None:
                permission = ("?", "?")  # neither public nor protected: the test refuses it
            result.append(Route(method, rule.rule, rule.endpoint, permission))
    return result


def protected_api_routes(app: Flask) -> list[Route]:
    """Every `/api/v1/` route that needs a caller: the rows the written matrix must have."""
    return [r for r in routes(app) if r.permission is not None and r.rule.startswith("/api/v1/")]


def allowed(role: str, route: Route) -> bool:
    """Whether the built-in role's grants, as they are, let it past the gateway on this route."""
    if route.permission is None or self_service(route.permission):
        return True
    return Actor(roles=(role,), perms=BUILTIN_ROLES[role]).can(*route.permission)


def matrix(app: Flask) -> dict[tuple[str, str], dict[str, bool]]:
    return {(r.method, r.rule): {role: allowed(role, r) for role in BUILTIN_ROLES} for r in routes(app)}


def example_path(rule: str) -> str:
    """The rule with every <converter:name> replaced by a well-formed id nobody has."""
    return re.sub(r"<[^>]+>", "00000000-0000-4000-8000-000000000000", rule)


@dataclass(frozen=True)
class Row:
    permission: tuple[str, str]  # what the route declares: (resource, action), ("self", ...) for self-service
    roles: frozenset[str]  # the built-in roles allowed past the gateway


@dataclass(frozen=True)
class WrittenMatrix:
    roles: tuple[str, ...]  # the built-in roles the matrix was written for, in column order
    rows: dict[tuple[str, str], Row]  # (method, path) -> the row


ROW_HEAD = re.compile(r"(?P<method>[A-Z]+)\s+(?P<path>/\S*)\s+\[(?P<resource>[a-z_*]+)\.(?P<action>[a-z_*]+)\]")


def read_matrix(text: str) -> WrittenMatrix:
    """Parse the written matrix: `#` comments, one `roles: a, b, ...` line, then one row per route,
    `METHOD /path [resource.action]: role, role, ...`.

    Raises ValueError naming the line for anything else: an unknown method or role, a role out of the
    declared order or named twice, a row without roles, a route written twice.
    """
    roles: tuple[str, ...] | None = None
    rows: dict[tuple[str, str], Row] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        head, colon, tail = line.partition(":")
        head = head.strip()
        names = [n.strip() for n in tail.split(",")] if tail.strip() else []
        if not colon or not names or "" in names:
            raise ValueError(f"line {number}: expected 'METHOD /path [resource.action]: role, role, ...', got {raw!r}")
        if head == "roles":
            if roles is not None or len(set(names)) != len(names):
                raise ValueError(f"line {number}: one 'roles:' line, each role once")
            roles = tuple(names)
            continue
        if roles is None:
            raise ValueError(f"line {number}: the 'roles:' line comes before the rows")
        match = ROW_HEAD.fullmatch(head)
        if match is None or match["method"] not in METHODS:
            raise ValueError(f"line {number}: expected 'METHOD /path [resource.action]', got {head!r}")
        key = (match["method"], match["path"])
        if key in rows:
            raise ValueError(f"line {number}: {key[0]} {key[1]} is written twice")
        unknown = [n for n in names if n not in roles]
        if unknown:
            raise ValueError(f"line {number}: unknown role(s) {', '.join(unknown)} (roles: {', '.join(roles)})")
        if names != sorted(set(names), key=roles.index):
            raise ValueError(f"line {number}: name each role once, in the order of the 'roles:' line")
        rows[key] = Row((match["resource"], match["action"]), frozenset(names))
    if roles is None:
        raise ValueError("no 'roles:' line")
    return WrittenMatrix(roles, rows)
