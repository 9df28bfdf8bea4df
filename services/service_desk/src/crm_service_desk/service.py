"""nameko entrypoints of the service_desk service (crm_common.entrypoint: one per contract, the event table)."""
from __future__ import annotations

from nameko.timer import timer

from crm_common import config
from crm_common.dependencies import Database
from crm_common.entrypoint import entrypoint, run
from crm_common.service_base import KernelService, periodic
from crm_common.stream import event_stream
import crm_service_desk_contracts as c
from crm_service_desk import handlers
from crm_service_desk.domain import (agents, complaints, conversation, desk_settings, kb_articles, macros,
                                     notifications, sla, surveys, tickets)
from crm_service_desk.domain.configuration import (BUSINESS_HOURS, GROUPS, ROUTING_RULES, SERVICE_CONTRACTS,
                                                   SLA_POLICIES)
from crm_service_desk.domain import custom
from crm_service_desk.domain import search as record_search
from crm_service_desk.models import Base

SCAN_INTERVAL = config.env_float("CRM_SLA_SCAN_INTERVAL", 5.0)


class ServiceDeskService(KernelService):
    name = "service_desk"
    db = Database(Base.metadata)
    on_event = event_stream(handlers.HANDLERS)

    # -- custom field definitions of tickets (crm_common.records) ----------------------------------------
    list_custom_fields = entrypoint(c.CUSTOM_FIELDS.LIST, custom.definitions.list)
    create_custom_field = entrypoint(c.CUSTOM_FIELDS.CREATE, custom.definitions.create)
    get_custom_field = entrypoint(c.CUSTOM_FIELDS.GET, custom.definitions.get)
    update_custom_field = entrypoint(c.CUSTOM_FIELDS.UPDATE, custom.definitions.update)
    delete_custom_field = entrypoint(c.CUSTOM_FIELDS.DELETE, custom.definitions.delete)
    # files on tickets (crm_common.records.attachments)
    upload_ticket_attachment = entrypoint(c.ATTACHMENTS.by_resource["ticket"].UPLOAD,
                                          custom.ATTACHMENTS.upload("ticket"))
    list_ticket_attachments = entrypoint(c.ATTACHMENTS.by_resource["ticket"].LIST,
                                         custom.ATTACHMENTS.listing("ticket"))
    attachment_content = entrypoint(c.ATTACHMENTS.CONTENT, custom.ATTACHMENTS.content)
    delete_attachment = entrypoint(c.ATTACHMENTS.DELETE, custom.ATTACHMENTS.delete)

    # -- tickets and their conversation (the ticket's id is the call's `id`) ---------------------------
    create_ticket = entrypoint(c.CREATE_TICKET, custom.create_ticket)
    list_tickets = entrypoint(c.LIST_TICKETS, tickets.list_tickets)
    get_ticket = entrypoint(c.GET_TICKET, tickets.get_ticket)
    update_ticket = entrypoint(c.UPDATE_TICKET, custom.update_ticket)
    delete_ticket = entrypoint(c.DELETE_TICKET, tickets.delete_ticket)
    search = entrypoint(c.SEARCH, record_search.search)  # GET /api/v1/search, with sales'
    add_comment = entrypoint(c.ADD_COMMENT, conversation.add_comment)
    list_comments = entrypoint(c.LIST_COMMENTS, conversation.list_comments)
    log_time = entrypoint(c.LOG_TIME, conversation.log_time)
    list_time_logs = entrypoint(c.LIST_TIME_LOGS, conversation.list_time_logs)
    ticket_suggestions = entrypoint(c.TICKET_SUGGESTIONS, kb_articles.suggestions)
    ticket_to_article = entrypoint(c.TICKET_TO_ARTICLE, kb_articles.from_ticket)

    # -- groups, agents, routing -----------------------------------------------------------------------
    create_group = entrypoint(c.CREATE_GROUP, GROUPS.create)
    list_groups = entrypoint(c.LIST_GROUPS, GROUPS.list)
    get_group = entrypoint(c.GET_GROUP, GROUPS.get)
    update_group = entrypoint(c.UPDATE_GROUP, GROUPS.update)
    delete_group = entrypoint(c.DELETE_GROUP, GROUPS.remove)
    list_agents = entrypoint(c.LIST_AGENTS, agents.list_agents)
    update_agent = entrypoint(c.UPDATE_AGENT, agents.set_available)
    create_routing_rule = entrypoint(c.CREATE_ROUTING_RULE, ROUTING_RULES.create)
    list_routing_rules = entrypoint(c.LIST_ROUTING_RULES, ROUTING_RULES.list)
    get_routing_rule = entrypoint(c.GET_ROUTING_RULE, ROUTING_RULES.get)
    update_routing_rule = entrypoint(c.UPDATE_ROUTING_RULE, ROUTING_RULES.update)
    delete_routing_rule = entrypoint(c.DELETE_ROUTING_RULE, ROUTING_RULES.remove)

    # -- service levels and service contracts ----------------------------------------------------------
    create_business_hours = entrypoint(c.CREATE_BUSINESS_HOURS, BUSINESS_HOURS.create)
    list_business_hours_list = entrypoint(c.LIST_BUSINESS_HOURS, BUSINESS_HOURS.list)
    get_business_hours = entrypoint(c.GET_BUSINESS_HOURS, BUSINESS_HOURS.get)
    update_business_hours = entrypoint(c.UPDATE_BUSINESS_HOURS, BUSINESS_HOURS.update)
    delete_business_hours = entrypoint(c.DELETE_BUSINESS_HOURS, BUSINESS_HOURS.remove)
    create_sla_policy = entrypoint(c.CREATE_SLA_POLICY, SLA_POLICIES.create)
    list_sla_policies = entrypoint(c.LIST_SLA_POLICIES, SLA_POLICIES.list)
    get_sla_policy = entrypoint(c.GET_SLA_POLICY, SLA_POLICIES.get)
    update_sla_policy = entrypoint(c.UPDATE_SLA_POLICY, SLA_POLICIES.update)
    delete_sla_policy = entrypoint(c.DELETE_SLA_POLICY, SLA_POLICIES.remove)
    sla_compliance = entrypoint(c.SLA_COMPLIANCE, sla.compliance_all)
    sla_policy_compliance = entrypoint(c.SLA_POLICY_COMPLIANCE, sla.policy_compliance)
    scan_sla = entrypoint(c.SCAN_SLA, sla.scan_now)
    create_service_contract = entrypoint(c.CREATE_SERVICE_CONTRACT, SERVICE_CONTRACTS.create)
    list_service_contracts = entrypoint(c.LIST_SERVICE_CONTRACTS, SERVICE_CONTRACTS.list)
    get_service_contract = entrypoint(c.GET_SERVICE_CONTRACT, SERVICE_CONTRACTS.get)
    update_service_contract = entrypoint(c.UPDATE_SERVICE_CONTRACT, SERVICE_CONTRACTS.update)
    delete_service_contract = entrypoint(c.DELETE_SERVICE_CONTRACT, SERVICE_CONTRACTS.remove)

    # -- complaints ------------------------------------------------------------------------------------
    create_complaint = entrypoint(c.CREATE_COMPLAINT, complaints.create)
    list_complaints = entrypoint(c.LIST_COMPLAINTS, complaints.list_complaints)
    get_complaint = entrypoint(c.GET_COMPLAINT, complaints.get)
    update_complaint = entrypoint(c.UPDATE_COMPLAINT, complaints.update)
    complaint_report = entrypoint(c.COMPLAINT_REPORT, complaints.report)

    # -- knowledge base --------------------------------------------------------------------------------
    create_kb_article = entrypoint(c.CREATE_KB_ARTICLE, kb_articles.create)
    list_kb_articles = entrypoint(c.LIST_KB_ARTICLES, kb_articles.list_articles)
    get_kb_article = entrypoint(c.GET_KB_ARTICLE, kb_articles.get)
    update_kb_article = entrypoint(c.UPDATE_KB_ARTICLE, kb_articles.update)
    delete_kb_article = entrypoint(c.DELETE_KB_ARTICLE, kb_articles.remove)
    vote_kb_article = entrypoint(c.VOTE_KB_ARTICLE, kb_articles.vote)

    # -- macros (canned replies) -----------------------------------------------------------------------
    create_macro = entrypoint(c.CREATE_MACRO, macros.create)
    list_macros = entrypoint(c.LIST_MACROS, macros.list_macros)
    get_macro = entrypoint(c.GET_MACRO, macros.get)
    update_macro = entrypoint(c.UPDATE_MACRO, macros.update)
    delete_macro = entrypoint(c.DELETE_MACRO, macros.remove)
    render_macro = entrypoint(c.RENDER_MACRO, macros.render)

    # -- satisfaction ----------------------------------------------------------------------------------
    create_nps_survey = entrypoint(c.CREATE_NPS_SURVEY, surveys.create_nps)
    get_nps_survey = entrypoint(c.GET_NPS_SURVEY, surveys.get_nps)
    list_surveys = entrypoint(c.LIST_SURVEYS, surveys.list_invitations)
    satisfaction_summary = entrypoint(c.SATISFACTION_SUMMARY, surveys.summary)
    respond_survey = entrypoint(c.RESPOND_SURVEY, surveys.respond)
    issue_survey_token = entrypoint(c.ISSUE_SURVEY_TOKEN, surveys.issue_email_token)

    # -- settings, notifications -----------------------------------------------------------------------
    get_settings = entrypoint(c.GET_SETTINGS, desk_settings.get)
    update_settings = entrypoint(c.UPDATE_SETTINGS, desk_settings.update)
    list_notifications = entrypoint(c.LIST_NOTIFICATIONS, notifications.list_notifications)

    # -- the SLA monitor -------------------------------------------------------------------------------
    @timer(interval=SCAN_INTERVAL)
    @periodic("SLA breach scan")
    def sla_monitor(self):
        self.scan_until_done()

    def scan_until_done(self) -> int:
        """Breach batches, each in its own transaction, until one is not full; how many tickets in all."""
        total = 0
        while True:
            found = run(self, sla.scan_due)
            total += found
            if found < sla.SCAN_BATCH:
                return total
