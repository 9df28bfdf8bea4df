"""Routes of the marketing context: one line per route (crm_gateway.conventions)."""
import crm_marketing_contracts as c
from crm_gateway.conventions import Route, build, resource
from crm_gateway.routes import marketing_public

ROUTES = [
    Route("GET", "/suppressions/check", c.CHECK_SUPPRESSION),  # before the <id> routes
    *resource("suppressions", c.LIST_SUPPRESSIONS, c.CREATE_SUPPRESSION, c.GET_SUPPRESSION, c.DELETE_SUPPRESSION),
    *resource("forms", c.LIST_FORMS, c.CREATE_FORM, c.GET_FORM, c.UPDATE_FORM, c.DELETE_FORM),
]
blueprints = build("marketing", ROUTES)
blueprints += marketing_public.blueprints  # hand-written: a GIF, redirects, HTML pages, raw reports (see there)
