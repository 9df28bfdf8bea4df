"""Routes of the marketing context: one line per route (crm_gateway.conventions)."""
import crm_marketing_contracts as c
from crm_gateway.conventions import Route, build, resource
from crm_gateway.routes import marketing_public

ROUTES = [
    Route("GET", "/suppressions/check", c.CHECK_SUPPRESSION),  # before the <id> routes
    *resource("suppressions", c.LIST_SUPPRESSIONS, c.CREATE_SUPPRESSION, c.GET_SUPPRESSION, c.DELETE_SUPPRESSION),
    *resource("segments", c.LIST_SEGMENTS, c.CREATE_SEGMENT, c.GET_SEGMENT, c.UPDATE_SEGMENT, c.DELETE_SEGMENT),
    Route("GET", "/segments/<id>/members", c.LIST_SEGMENT_MEMBERS),
    *resource("consents", c.LIST_CONSENTS, c.CREATE_CONSENT, c.GET_CONSENT, c.UPDATE_CONSENT),
    *resource("email-templates", c.LIST_EMAIL_TEMPLATES, c.CREATE_EMAIL_TEMPLATE, c.GET_EMAIL_TEMPLATE,
              c.UPDATE_EMAIL_TEMPLATE, c.DELETE_EMAIL_TEMPLATE),
    Route("POST", "/email-templates/<id>/preview", c.PREVIEW_EMAIL_TEMPLATE),
    *resource("campaigns", c.LIST_CAMPAIGNS, c.CREATE_CAMPAIGN, c.GET_CAMPAIGN, c.UPDATE_CAMPAIGN,
              c.DELETE_CAMPAIGN),
    Route("GET", "/campaigns/<id>/stats", c.CAMPAIGN_STATS),
    Route("POST", "/campaigns/<id>/send", c.SEND_CAMPAIGN, status=202, location="/campaigns/{campaign_id}/sends/{id}",
          answers={409: "the campaign is being sent, scheduled or sent already"}),
    Route("GET", "/campaigns/<id>/sends/<job_id>", c.GET_SEND_JOB),
    Route("POST", "/campaigns/<id>/cancel", c.CANCEL_CAMPAIGN_SEND, answers={409: "no scheduled or running send"}),
    Route("POST", "/campaigns/<id>/test-send", c.TEST_SEND, idempotent=False),
    *resource("forms", c.LIST_FORMS, c.CREATE_FORM, c.GET_FORM, c.UPDATE_FORM, c.DELETE_FORM),
    *resource("scoring-rules", c.LIST_SCORING_RULES, c.CREATE_SCORING_RULE, c.GET_SCORING_RULE,
              c.UPDATE_SCORING_RULE, c.DELETE_SCORING_RULE),
    Route("GET", "/leads/<id>/score", c.GET_LEAD_SCORE),  # the lead's id in sales; marketing explains its score
    *resource("social/mentions", c.LIST_MENTIONS, c.GET_MENTION, c.UPDATE_MENTION),
    *resource("social/mentions", c.CREATE_MENTION, answers={409: "this post is already a mention (existing_id)"}),
    Route("POST", "/social/mentions/<id>/reply", c.REPLY_MENTION),
    Route("POST", "/social/mentions/<id>/ticket", c.TICKET_MENTION,
          answers={409: "a ticket was already opened from this mention (ticket_id names it)"}),
]
blueprints = build("marketing", ROUTES)
blueprints += marketing_public.blueprints  # hand-written: a GIF, redirects, HTML pages, raw reports (see there)
