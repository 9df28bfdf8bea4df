"""Resources, actions, scopes and the built-in roles' grants: the vocabulary of authorization.

A grant is `{resource: {action: scope}}`; "*" stands for every resource or every action.
Identity puts the caller's merged grants in the access token (`perms`); the gateway checks a route's
(resource, action) and each service applies the scope to records.
"""
from __future__ import annotations

ACTIONS = ("read", "create", "update", "delete", "export", "assign", "admin")
SCOPES = ("none", "own", "team", "territory", "all")

RESOURCES = (
    # identity
    "user", "team", "role", "api_key", "audit", "privacy_request",
    # sales
    "lead", "account", "contact", "product", "opportunity", "quote", "order", "contract", "activity",
    "territory", "target", "forecast", "commission", "expense", "call_list",
    # service desk
    "ticket", "comment", "sla_policy", "kb_article", "survey", "service_contract", "complaint",
    "routing_rule", "business_hours", "group",
    # marketing
    "segment", "email_template", "campaign", "consent", "form", "social_mention", "scoring_rule",
    # analytics and integration
    "analytics", "report", "webhook", "event_feed", "dead_letter",
)

SALES = ("lead", "account", "contact", "opportunity", "quote", "order", "contract", "activity", "call_list")
SERVICE = ("ticket", "comment", "complaint", "survey")
MARKETING = ("segment", "email_template", "campaign", "consent", "form", "social_mention", "scoring_rule")


def _grant(resources, actions, scope) -> dict:
    return {r: {a: scope for a in actions} for r in resources}


def _merge(*grants: dict) -> dict:
    merged: dict = {}
    for grant in grants:
        for resource, actions in grant.items():
            target = merged.setdefault(resource, {})
            for action, scope in actions.items():
                if SCOPES.index(scope) > SCOPES.index(target.get(action, "none")):
                    target[action] = scope
    return merged


CRUD = ("read", "create", "update", "delete")

BUILTIN_ROLES: dict[str, dict] = {
    "admin": {"*": {"*": "all"}},
    "sales_manager": _merge(
        _grant(SALES, CRUD + ("export", "assign"), "team"),
        _grant(("product", "territory", "forecast", "target", "commission", "expense"), CRUD + ("export",), "team"),
        _grant(("product", "territory"), ("read",), "all"),
        _grant(("expense",), ("admin",), "team"),  # approves the team's expense claims
        _grant(("quote",), ("admin",), "team"),  # approves discounts above the limit
        _grant(("ticket", "kb_article"), ("read",), "team"),
        _grant(("analytics", "report"), ("read", "export"), "team"),
        _grant(("user", "team"), ("read",), "all"),
    ),
    "sales_rep": _merge(
        _grant(SALES, ("read", "create", "update"), "own"),
        _grant(("product", "territory", "forecast", "target"), ("read",), "own"),
        _grant(("product", "territory"), ("read",), "all"),
        _grant(("commission",), ("read",), "own"),
        _grant(("expense",), ("read", "create", "update"), "own"),
        _grant(("ticket", "kb_article"), ("read",), "own"),
        _grant(("user", "team"), ("read",), "all"),
    ),
    "support_manager": _merge(
        _grant(SERVICE + ("sla_policy", "kb_article", "service_contract", "routing_rule", "business_hours",
                          "group"), CRUD + ("export", "assign", "admin"), "all"),
        _grant(("account", "contact", "product"), ("read",), "all"),
        _grant(("analytics", "report"), ("read", "export"), "all"),
        _grant(("user", "team"), ("read",), "all"),
    ),
    "support_agent": _merge(
        _grant(("ticket", "comment", "complaint"), ("read", "create", "update"), "team"),
        _grant(("ticket",), ("assign",), "team"),
        _grant(("kb_article",), ("read", "create", "update"), "all"),
        _grant(("sla_policy", "service_contract", "survey", "group", "business_hours"), ("read",), "all"),
        _grant(("account", "contact", "product"), ("read",), "all"),
        _grant(("user", "team"), ("read",), "all"),
    ),
    "marketer": _merge(
        _grant(MARKETING, CRUD + ("export",), "all"),
        _grant(("lead",), ("read", "create"), "all"),
        _grant(("contact", "account", "product"), ("read",), "all"),
        _grant(("analytics", "report"), ("read", "export"), "all"),
        _grant(("user", "team"), ("read",), "all"),
    ),
    "analyst": _merge(
        _grant(("analytics", "report"), ("read", "export"), "all"),
        _grant(SALES + SERVICE + MARKETING + ("product", "territory", "forecast", "target"), ("read",), "all"),
        _grant(("user", "team"), ("read",), "all"),
    ),
    "integration": _merge(
        _grant(SALES + SERVICE + MARKETING + ("product", "territory", "kb_article"), ("read",), "all"),
        _grant(("lead", "ticket", "contact", "account", "activity"), ("create", "update"), "all"),
        _grant(("webhook", "event_feed"), CRUD, "all"),
        _grant(("social_mention",), ("create",), "all"),  # a social network connector posts what it finds
    ),
    # portal customers: their own tickets (scope "own" means requester/contact is the caller). They
    # answer their surveys with the survey's token (a public route) and send none.
    "customer": _merge(
        _grant(("ticket", "comment"), ("read", "create"), "own"),
        _grant(("kb_article",), ("read",), "all"),
    ),
}


def merge_roles(grants: list[dict]) -> dict:
    """The widest scope per (resource, action) over all the caller's roles."""
    return _merge(*grants)


def validate_grant(grant: dict) -> dict:
    """Errors of a custom role's grant ({} when valid)."""
    errors: dict = {}
    if not isinstance(grant, dict):
        return {"permissions": ["must be an object of resource -> {action: scope}"]}
    for resource, actions in grant.items():
        if resource != "*" and resource not in RESOURCES:
            errors.setdefault("permissions", []).append(f"unknown resource {resource!r}")
            continue
        if not isinstance(actions, dict):
            errors.setdefault("permissions", []).append(f"{resource}: must map actions to scopes")
            continue
        for action, scope in actions.items():
            if action != "*" and action not in ACTIONS:
                errors.setdefault("permissions", []).append(f"{resource}: unknown action {action!r}")
            if scope not in SCOPES:
                errors.setdefault("permissions", []).append(f"{resource}.{action}: unknown scope {scope!r}")
    return errors
