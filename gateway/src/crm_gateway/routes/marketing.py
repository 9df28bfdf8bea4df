"""Routes of the marketing context: one line per route (crm_gateway.conventions)."""
import crm_marketing_contracts as c
from crm_gateway.conventions import Route, build, resource

ROUTES = [
    Route("GET", "/suppressions/check", c.CHECK_SUPPRESSION),  # before the <id> routes
    *resource("suppressions", c.LIST_SUPPRESSIONS, c.CREATE_SUPPRESSION, c.GET_SUPPRESSION, c.DELETE_SUPPRESSION),
    *resource("segments", c.LIST_SEGMENTS, c.CREATE_SEGMENT, c.GET_SEGMENT, c.UPDATE_SEGMENT, c.DELETE_SEGMENT),
    Route("GET", "/segments/<id>/members", c.LIST_SEGMENT_MEMBERS),
    *resource("consents", c.LIST_CONSENTS, c.CREATE_CONSENT, c.GET_CONSENT, c.UPDATE_CONSENT),
]
blueprints = build("marketing", ROUTES)
