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
    "routing_rule", "business_hours", "group", "macro",
    # marketing
    "segment", "email_template", "campaign", "consent", "form", "social_mention", "scoring_rule",
    # analytics and integration
    "analytics", "report", "webhook", "event_feed", "dead_letter",
    # sales: subscriptions, partners
    "plan", "subscription", "partner", "deal_registration",
    # identity: the users of a partner (POST /api/v1/partner-users; scope "own": of the caller's partner)
    "partner_user",
    # automation (workflows and their run log: administrators; notifications and approvals are self-service)
    "workflow",
    # on every record (crm_common.records): the definitions of custom fields, files by their own id
    "custom_field", "attachment",
    # search across records (GET /api/v1/search): the services search only what the caller may read
    "search",
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
        _grant(("report",), ("read", "create", "update", "delete"), "own"),  # saved reports and dashboards
        _grant(("user", "team"), ("read",), "all"),
        _grant(("subscription",), CRUD + ("export",), "team"),
        _grant(("plan",), ("read", "create", "update"), "all"),
        _grant(("partner", "deal_registration"), ("read",), "all"),
    ),
    "sales_rep": _merge(
        _grant(SALES, ("read", "create", "update"), "own"),
        _grant(("product", "territory", "forecast", "target"), ("read",), "own"),
        _grant(("product", "territory"), ("read",), "all"),
        _grant(("commission",), ("read",), "own"),
        _grant(("expense",), ("read", "create", "update"), "own"),
        _grant(("ticket", "kb_article"), ("read",), "own"),
        _grant(("user", "team"), ("read",), "all"),
        _grant(("subscription",), ("read", "create", "update"), "own"),
        _grant(("plan",), ("read",), "all"),
        _grant(("analytics",), ("read",), "own"),  # figures over their own records (analytics applies the scope)
        _grant(("report",), ("read", "create", "update", "delete"), "own"),  # saved reports and dashboards
    ),
    "support_manager": _merge(
        _grant(SERVICE + ("sla_policy", "kb_article", "service_contract", "routing_rule", "business_hours",
                          "group"), CRUD + ("export", "assign", "admin"), "all"),
        _grant(("macro",), CRUD, "all"),  # canned replies: every team's
        _grant(("account", "contact", "product"), ("read",), "all"),
        _grant(("analytics", "report"), ("read", "export"), "all"),
        _grant(("report",), ("read", "create", "update", "delete"), "own"),  # saved reports and dashboards
        _grant(("user", "team"), ("read",), "all"),
        _grant(("subscription", "plan"), ("read",), "all"),  # what the customer has, to fit service and mail
    ),
    "support_agent": _merge(
        _grant(("ticket", "comment", "complaint"), ("read", "create", "update"), "team"),
        _grant(("ticket",), ("assign",), "team"),
        _grant(("kb_article",), ("read", "create", "update"), "all"),
        _grant(("sla_policy", "service_contract", "survey", "group", "business_hours"), ("read",), "all"),
        _grant(("macro",), ("read",), "team"),  # canned replies: the shared ones and their team's (read, render)
        _grant(("account", "contact", "product"), ("read",), "all"),
        _grant(("user", "team"), ("read",), "all"),
        _grant(("subscription", "plan"), ("read",), "all"),  # what the customer has, to fit service and mail
        _grant(("analytics",), ("read",), "team"),  # figures over the tickets they may read
        _grant(("report",), ("read", "create", "update", "delete"), "own"),  # saved reports and dashboards
    ),
    "marketer": _merge(
        _grant(MARKETING, CRUD + ("export",), "all"),
        _grant(("lead",), ("read", "create"), "all"),
        _grant(("contact", "account", "product"), ("read",), "all"),
        _grant(("analytics", "report"), ("read", "export"), "all"),
        _grant(("report",), ("read", "create", "update", "delete"), "own"),  # saved reports and dashboards
        _grant(("user", "team"), ("read",), "all"),
        _grant(("subscription", "plan"), ("read",), "all"),  # what the customer has, to fit service and mail
    ),
    "analyst": _merge(
        _grant(("analytics", "report"), ("read", "export"), "all"),
        _grant(("report",), ("read", "create", "update", "delete"), "own"),  # saved reports and dashboards
        _grant(SALES + SERVICE + MARKETING + ("product", "territory", "forecast", "target"), ("read",), "all"),
        _grant(("user", "team"), ("read",), "all"),
        _grant(("subscription", "plan"), ("read",), "all"),  # what the customer has, to fit service and mail
        _grant(("partner", "deal_registration"), ("read",), "all"),
    ),
    "integration": _merge(
        _grant(SALES + SERVICE + MARKETING + ("product", "territory", "kb_article"), ("read",), "all"),
        _grant(("lead", "ticket", "contact", "account", "activity"), ("create", "update"), "all"),
        # an ERP or shop keeps the catalogue and its orders in step (upserts by external id, single and bulk)
        _grant(("product", "order"), ("create", "update"), "all"),
        _grant(("webhook", "event_feed"), CRUD, "all"),
        _grant(("social_mention",), ("create",), "all"),  # a social network connector posts what it finds
        # the mail provider's connector posts bounces, complaints and unsubscribes (suppression entries), and a
        # connected form tool or import the consents it captured
        _grant(("consent",), ("create",), "all"),
        _grant(("subscription", "plan"), ("read",), "all"),  # what the customer has, to fit service and mail
        _grant(("analytics",), ("read",), "all"),  # reads every record, so the figures over them too
    ),
    # portal customers: their own tickets (scope "own" means requester/contact is the caller). They
    # answer their surveys with the survey's token (a public route) and send none.
    "customer": _merge(
        _grant(("ticket", "comment"), ("read", "create"), "own"),
        _grant(("kb_article",), ("read",), "all"),
        # a file by its id: the service desk answers 404 unless it is on a ticket the customer sees (their own)
        _grant(("attachment",), ("read",), "all"),
    ),
    # the channel: channel managers run the partners, approve deal registrations and own the deals they approve
    "channel_manager": _merge(
        _grant(("partner",), CRUD + ("export", "admin"), "all"),
        _grant(("partner_user",), ("create",), "all"),
        _grant(("deal_registration",), CRUD + ("admin",), "all"),
        _grant(("account", "opportunity"), ("read", "create", "update"), "own"),
        _grant(("order",), ("read", "create"), "own"),
        _grant(("product", "territory"), ("read",), "all"),
    ),
    # partner users in the portal (their token carries partner_id): a scope below "all" on partner records means
    # "of my partner" (crm_sales.domain.partners); another partner's record is not found
    "partner": _merge(
        _grant(("partner",), ("read",), "own"),
        _grant(("deal_registration",), ("read", "create"), "own"),
        _grant(("order",), ("create",), "own"),
    ),
}
# a partner's own administrator (with the partner role, so their token carries partner_id): besides what every
# partner user does, creates their partner's users (identity's POST /partner-users: partner_user.create, "own"
# meaning "of my partner"; a channel manager or an administrator, with scope all, for any partner)
BUILTIN_ROLES["partner_manager"] = _merge(BUILTIN_ROLES["partner"], _grant(("partner_user",), ("create",), "own"))


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


# every staff role reads the definitions of the custom fields of the records it works with (crm_common.records);
# only an administrator defines them
for _role in ("sales_manager", "sales_rep", "support_manager", "support_agent", "marketer", "analyst", "integration"):
    BUILTIN_ROLES[_role] = _merge(BUILTIN_ROLES[_role], _grant(("custom_field",), ("read",), "all"),
                                  # a file by its id: the service answers 404 unless the caller may read (delete:
                                  # change) the record it is attached to
                                  _grant(("attachment",), ("read", "delete"), "all"))


# search across records: every staff role may ask; each service answers only with the records the caller may
# read (its grants on each type and their scope), so the grant opens the door and nothing more
for _role in ("sales_manager", "sales_rep", "support_manager", "support_agent", "marketer", "analyst", "integration",
              "channel_manager"):
    BUILTIN_ROLES[_role] = _merge(BUILTIN_ROLES[_role], _grant(("search",), ("read",), "all"))
