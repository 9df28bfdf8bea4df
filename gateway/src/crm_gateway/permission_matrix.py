"""The role-by-route permission matrix, in one place: which built-in role may call which route.

It is derived from what each route declares (`@requires(resource, action)` or `@public`) and the
built-in roles' grants (crm_common.permissions.BUILTIN_ROLES), and tested in full end to end.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Flask

from crm_common.context import Actor
from crm_common.permissions import BUILTIN_ROLES
from crm_gateway.auth import declared_permission, is_public, self_service


@dataclass(frozen=True)
class Route:
    method: str
    rule: str
    endpoint: str
    permission: tuple[str, str] | None  # None: public




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


def allowed(role: str, route: Route) -> bool:
    if route.permission is None or self_service(route.permission):
        return True
    return Actor(roles=(role,), perms=BUILTIN_ROLES[role]).can(*route.permission)


def matrix(app: Flask) -> dict[tuple[str, str], dict[str, bool]]:
    return {(r.method, r.rule): {role: allowed(role, r) for role in BUILTIN_ROLES} for r in routes(app)}


def example_path(rule: str) -> str:
    """The rule with every <converter:name> replaced by a well-formed id nobody has."""
    return re.sub(r"<[^>]+>", "00000000-0000-4000-8000-000000000000", rule)
