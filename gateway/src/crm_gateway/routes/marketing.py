"""Routes of the marketing context: one line per route (crm_gateway.conventions)."""
import crm_marketing_contracts as c
from crm_gateway.conventions import Route, build, resource

ROUTES = [
    Route("GET", "/suppressions/check", c.CHECK_SUPPRESSION),  # before the <id> routes
    *resource("suppressions", c.LIST_SUPPRESSIONS, c.CREATE_SUPPRESSION, c.GET_SUPPRESSION, c.DELETE_SUPPRESSION),
]
blueprints = build("marketing", ROUTES)
