"""Routes of the service_desk context: tickets and their conversation, groups, agents, routing rules,
business hours, SLA policies, service contracts, complaints, knowledge base, macros, surveys, settings."""
from __future__ import annotations

import crm_service_desk_contracts as c
from crm_gateway.conventions import PUBLIC_IDENTIFIED, Route, build, resource

ROUTES = [
    # tickets and their conversation: the ticket is the record (`<id>`)
    *resource("tickets", c.LIST_TICKETS, c.CREATE_TICKET, c.GET_TICKET, c.UPDATE_TICKET, c.DELETE_TICKET),
    Route("GET", "/tickets/<id>/comments", c.LIST_COMMENTS),
    Route("POST", "/tickets/<id>/comments", c.ADD_COMMENT, 201, location="/tickets/{ticket_id}/comments"),
    Route("GET", "/tickets/<id>/time-logs", c.LIST_TIME_LOGS),
    Route("POST", "/tickets/<id>/time-logs", c.LOG_TIME, 201, location="/tickets/{ticket_id}/time-logs"),
    Route("GET", "/tickets/<id>/suggestions", c.TICKET_SUGGESTIONS),
    Route("POST", "/tickets/<id>/kb-article", c.TICKET_TO_ARTICLE, 201, location="/kb/articles/{id}"),
    # groups, agents, routing
    *resource("groups", c.LIST_GROUPS, c.CREATE_GROUP, c.GET_GROUP, c.UPDATE_GROUP, c.DELETE_GROUP),
    Route("GET", "/agents", c.LIST_AGENTS),
    Route("PATCH", "/agents/<id>", c.UPDATE_AGENT, if_match=False),  # agents carry no version
    *resource("routing-rules", c.LIST_ROUTING_RULES, c.CREATE_ROUTING_RULE, c.GET_ROUTING_RULE,
              c.UPDATE_ROUTING_RULE, c.DELETE_ROUTING_RULE),
    # service levels and service contracts
    *resource("business-hours", c.LIST_BUSINESS_HOURS, c.CREATE_BUSINESS_HOURS, c.GET_BUSINESS_HOURS,
              c.UPDATE_BUSINESS_HOURS, c.DELETE_BUSINESS_HOURS),
    *resource("sla-policies", c.LIST_SLA_POLICIES, c.CREATE_SLA_POLICY, c.GET_SLA_POLICY, c.UPDATE_SLA_POLICY,
              c.DELETE_SLA_POLICY),
    Route("GET", "/sla-policies/compliance", c.SLA_COMPLIANCE),
    Route("GET", "/sla-policies/<id>/compliance", c.SLA_POLICY_COMPLIANCE),
    *resource("service-contracts", c.LIST_SERVICE_CONTRACTS, c.CREATE_SERVICE_CONTRACT, c.GET_SERVICE_CONTRACT,
              c.UPDATE_SERVICE_CONTRACT, c.DELETE_SERVICE_CONTRACT),
    # complaints
    *resource("complaints", c.LIST_COMPLAINTS, c.CREATE_COMPLAINT, c.GET_COMPLAINT, c.UPDATE_COMPLAINT),
    Route("GET", "/complaints/report", c.COMPLAINT_REPORT),
    # knowledge base
    *resource("kb/articles", c.LIST_KB_ARTICLES, c.CREATE_KB_ARTICLE, c.GET_KB_ARTICLE, c.UPDATE_KB_ARTICLE,
              c.DELETE_KB_ARTICLE),
    Route("POST", "/kb/articles/<id>/votes", c.VOTE_KB_ARTICLE),
    # macros (canned replies): managers keep them, agents render one on a ticket
    *resource("macros", c.LIST_MACROS, c.CREATE_MACRO, c.GET_MACRO, c.UPDATE_MACRO, c.DELETE_MACRO),
    Route("POST", "/tickets/<id>/macros/<macro_id>/render", c.RENDER_MACRO),
    # satisfaction: the answer's token is the credential (a caller who signs in is identified: staff are refused)
    Route("GET", "/surveys", c.LIST_SURVEYS),
    Route("POST", "/surveys", c.CREATE_NPS_SURVEY, 201),
    Route("GET", "/surveys/summary", c.SATISFACTION_SUMMARY),
    Route("GET", "/surveys/<id>", c.GET_NPS_SURVEY),
    Route("POST", "/surveys/<string:token>/responses", c.RESPOND_SURVEY, 201, access=PUBLIC_IDENTIFIED,
          idempotent=False, summary="Answer a survey once with its token (no login: the token is the credential)."),
    # settings, notifications, operations
    Route("GET", "/service-desk/settings", c.GET_SETTINGS),
    Route("PATCH", "/service-desk/settings", c.UPDATE_SETTINGS, if_match=True),
    Route("GET", "/service-desk/notifications", c.LIST_NOTIFICATIONS),
    Route("POST", "/service-desk/sla-scan", c.SCAN_SLA,
          summary="Run one SLA breach scan now (the monitor also runs every few seconds)."),
]
blueprints = build("service_desk", ROUTES)
