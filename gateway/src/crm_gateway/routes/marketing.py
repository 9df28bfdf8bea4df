"""Routes of the marketing context: one line per route (crm_gateway.conventions)."""
import crm_marketing_contracts as c
from crm_gateway.conventions import Route, build, resource

ROUTES = [
    Route("GET", "/suppressions/check", c.CHECK_SUPPRESSION),  # before the <id> routes
    *resource("suppressions", c.LIST_SUPPRESSIONS, c.CREATE_SUPPRESSION, c.GET_SUPPRESSION, c.DELETE_SUPPRESSION),
    Route("POST", "/campaigns/<id>/send", c.SEND_CAMPAIGN, status=202, location="/campaigns/{campaign_id}/sends/{id}",
          answers={409: "the campaign is being sent, scheduled or sent already"}),
    Route("GET", "/campaigns/<id>/sends/<job_id>", c.GET_SEND_JOB),
    Route("POST", "/campaigns/<id>/cancel", c.CANCEL_CAMPAIGN_SEND, answers={409: "no scheduled or running send"}),
    Route("POST", "/campaigns/<id>/test-send", c.TEST_SEND, idempotent=False),
]
blueprints = build("marketing", ROUTES)
