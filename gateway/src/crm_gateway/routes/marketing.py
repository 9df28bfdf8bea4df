"""Routes of the marketing context: one line per route (crm_gateway.conventions)."""
import crm_marketing_contracts as c
from crm_gateway.conventions import Route, build, resource

ROUTES = [
    Route("GET", "/suppressions/check", c.CHECK_SUPPRESSION),  # before the <id> routes
    *resource("suppressions", c.LIST_SUPPRESSIONS, c.CREATE_SUPPRESSION, c.GET_SUPPRESSION, c.DELETE_SUPPRESSION),
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
