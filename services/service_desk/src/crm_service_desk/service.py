"""nameko entrypoints of the service_desk service: thin, validating, calling plain domain functions."""
from __future__ import annotations

from nameko.timer import timer
from sqlalchemy import select

from crm_common import config
import crm_service_desk_contracts as c
from crm_common.dependencies import Database
from crm_common.rpc import contract_rpc
from crm_common.service_base import KernelService, periodic
from crm_common.stream import event_stream

from crm_service_desk.domain import agents, complaints, configuration, conversation, kb_articles, desk_settings, sla, surveys, tickets
from crm_service_desk import handlers
from crm_service_desk.domain.records import need, now, page
from crm_service_desk.models import Base, Notification

SCAN_INTERVAL = config.env_float("CRM_SLA_SCAN_INTERVAL", 5.0)
SCAN_BATCH = 500


class ServiceDeskService(KernelService):
    name = "service_desk"
    db = Database(Base.metadata)

    @event_stream
    def on_event(self, envelope, session):
        handlers.dispatch(session, envelope, self.db)

    # -- tickets ---------------------------------------------------------------------------------
    @contract_rpc(c.CREATE_TICKET)
    def create_ticket(self, data):
        with self.db.transaction() as session:
            return tickets.create_ticket(session, self.db, data)

    @contract_rpc(c.LIST_TICKETS)
    def list_tickets(self, args):
        with self.db.transaction() as session:
            return tickets.list_tickets(session, self.db, args)

    @contract_rpc(c.GET_TICKET)
    def get_ticket(self, _=None, id=None):
        with self.db.transaction() as session:
            return tickets.get_ticket(session, self.db, id)

    @contract_rpc(c.UPDATE_TICKET)
    def update_ticket(self, data, id=None, expected_version=None):
        with self.db.transaction() as session:
            return tickets.update_ticket(session, self.db, id, data, expected_version)

    @contract_rpc(c.DELETE_TICKET)
    def delete_ticket(self, _=None, id=None):
        with self.db.transaction() as session:
            tickets.delete_ticket(session, self.db, id)

    @contract_rpc(c.ADD_COMMENT)
    def add_comment(self, data, ticket_id=None):
        with self.db.transaction() as session:
            return conversation.add_comment(session, self.db, ticket_id, data)

    @contract_rpc(c.LIST_COMMENTS)
    def list_comments(self, args, ticket_id=None):
        with self.db.transaction() as session:
            return conversation.list_comments(session, self.db, ticket_id, args)

    @contract_rpc(c.LOG_TIME)
    def log_time(self, data, ticket_id=None):
        with self.db.transaction() as session:
            return conversation.log_time(session, self.db, ticket_id, data)

    @contract_rpc(c.LIST_TIME_LOGS)
    def list_time_logs(self, args, ticket_id=None):
        with self.db.transaction() as session:
            return conversation.list_time_logs(session, self.db, ticket_id, args)

    @contract_rpc(c.TICKET_SUGGESTIONS)
    def ticket_suggestions(self, _=None, ticket_id=None):
        with self.db.transaction() as session:
            return kb_articles.suggestions(session, self.db, ticket_id)

    @contract_rpc(c.TICKET_TO_ARTICLE)
    def ticket_to_article(self, _=None, ticket_id=None):
        with self.db.transaction() as session:
            return kb_articles.from_ticket(session, self.db, ticket_id)

    # -- configuration records (groups, routing rules, calendars, SLA policies, contracts) ----------
    def _create(self, kind, data):
        with self.db.transaction() as session:
            return configuration.create(session, self.db, kind, data)

    def _list(self, kind, args):
        with self.db.transaction() as session:
            return configuration.list_records(session, self.db, kind, args)

    def _get(self, kind, record_id):
        with self.db.transaction() as session:
            return configuration.get(session, self.db, kind, record_id)

    def _update(self, kind, record_id, data, expected_version):
        with self.db.transaction() as session:
            return configuration.update(session, self.db, kind, record_id, data, expected_version)

    def _delete(self, kind, record_id):
        with self.db.transaction() as session:
            configuration.remove(session, self.db, kind, record_id)

    @contract_rpc(c.CREATE_GROUP)
    def create_group(self, data):
        return self._create("group", data)

    @contract_rpc(c.LIST_GROUPS)
    def list_groups(self, args):
        from crm_service_desk.models import GroupMember, Group
        where = ()
        if args.get("member_id"):
            where = (Group.id.in_(select(GroupMember.group_id).where(GroupMember.user_id == args["member_id"])),)
        with self.db.transaction() as session:
            return configuration.list_records(session, self.db, "group", args, where)

    @contract_rpc(c.GET_GROUP)
    def get_group(self, _=None, id=None):
        return self._get("group", id)

    @contract_rpc(c.UPDATE_GROUP)
    def update_group(self, data, id=None, expected_version=None):
        return self._update("group", id, data, expected_version)

    @contract_rpc(c.DELETE_GROUP)
    def delete_group(self, _=None, id=None):
        return self._delete("group", id)

    @contract_rpc(c.LIST_AGENTS)
    def list_agents(self, args):
        with self.db.transaction() as session:
            return agents.list_agents(session, self.db, args)

    @contract_rpc(c.UPDATE_AGENT)
    def update_agent(self, data, id=None):
        with self.db.transaction() as session:
            return agents.set_available(session, self.db, id, data["available"])

    @contract_rpc(c.CREATE_ROUTING_RULE)
    def create_routing_rule(self, data):
        return self._create("routing_rule", data)

    @contract_rpc(c.LIST_ROUTING_RULES)
    def list_routing_rules(self, args):
        return self._list("routing_rule", args)

    @contract_rpc(c.GET_ROUTING_RULE)
    def get_routing_rule(self, _=None, id=None):
        return self._get("routing_rule", id)

    @contract_rpc(c.UPDATE_ROUTING_RULE)
    def update_routing_rule(self, data, id=None, expected_version=None):
        return self._update("routing_rule", id, data, expected_version)

    @contract_rpc(c.DELETE_ROUTING_RULE)
    def delete_routing_rule(self, _=None, id=None):
        return self._delete("routing_rule", id)

    @contract_rpc(c.CREATE_BUSINESS_HOURS)
    def create_business_hours(self, data):
        return self._create("business_hours", data)

    @contract_rpc(c.LIST_BUSINESS_HOURS)
    def list_business_hours_list(self, args):
        return self._list("business_hours", args)

    @contract_rpc(c.GET_BUSINESS_HOURS)
    def get_business_hours(self, _=None, id=None):
        return self._get("business_hours", id)

    @contract_rpc(c.UPDATE_BUSINESS_HOURS)
    def update_business_hours(self, data, id=None, expected_version=None):
        return self._update("business_hours", id, data, expected_version)

    @contract_rpc(c.DELETE_BUSINESS_HOURS)
    def delete_business_hours(self, _=None, id=None):
        return self._delete("business_hours", id)

    @contract_rpc(c.CREATE_SLA_POLICY)
    def create_sla_policy(self, data):
        return self._create("sla_policy", data)

    @contract_rpc(c.LIST_SLA_POLICIES)
    def list_sla_policies(self, args):
        return self._list("sla_policy", args)

    @contract_rpc(c.GET_SLA_POLICY)
    def get_sla_policy(self, _=None, id=None):
        return self._get("sla_policy", id)

    @contract_rpc(c.UPDATE_SLA_POLICY)
    def update_sla_policy(self, data, id=None, expected_version=None):
        return self._update("sla_policy", id, data, expected_version)

    @contract_rpc(c.DELETE_SLA_POLICY)
    def delete_sla_policy(self, _=None, id=None):
        return self._delete("sla_policy", id)

    @contract_rpc(c.SLA_COMPLIANCE)
    def sla_compliance(self, _=None, id=None):
        with self.db.transaction() as session:
            need(self.db.caller, "sla_policy", "read")
            if id is not None:
                configuration.get(session, self.db, "sla_policy", id)
            return {"items": sla.compliance(session, [id] if id else None)}

    @contract_rpc(c.CREATE_SERVICE_CONTRACT)
    def create_service_contract(self, data):
        return self._create("service_contract", data)

    @contract_rpc(c.LIST_SERVICE_CONTRACTS)
    def list_service_contracts(self, args):
        return self._list("service_contract", args)

    @contract_rpc(c.GET_SERVICE_CONTRACT)
    def get_service_contract(self, _=None, id=None):
        return self._get("service_contract", id)

    @contract_rpc(c.UPDATE_SERVICE_CONTRACT)
    def update_service_contract(self, data, id=None, expected_version=None):
        return self._update("service_contract", id, data, expected_version)

    @contract_rpc(c.DELETE_SERVICE_CONTRACT)
    def delete_service_contract(self, _=None, id=None):
        return self._delete("service_contract", id)

    # -- complaints --------------------------------------------------------------------------------
    @contract_rpc(c.CREATE_COMPLAINT)
    def create_complaint(self, data):
        with self.db.transaction() as session:
            return complaints.create(session, self.db, data)

    @contract_rpc(c.LIST_COMPLAINTS)
    def list_complaints(self, args):
        with self.db.transaction() as session:
            return complaints.list_complaints(session, self.db, args)

    @contract_rpc(c.GET_COMPLAINT)
    def get_complaint(self, _=None, id=None):
        with self.db.transaction() as session:
            return complaints.get(session, self.db, id)

    @contract_rpc(c.UPDATE_COMPLAINT)
    def update_complaint(self, data, id=None, expected_version=None):
        with self.db.transaction() as session:
            return complaints.update(session, self.db, id, data, expected_version)

    @contract_rpc(c.COMPLAINT_REPORT)
    def complaint_report(self, args):
        with self.db.transaction() as session:
            return complaints.report(session, self.db, args)

    # -- knowledge base ----------------------------------------------------------------------------
    @contract_rpc(c.CREATE_KB_ARTICLE)
    def create_kb_article(self, data):
        with self.db.transaction() as session:
            return kb_articles.create(session, self.db, data)

    @contract_rpc(c.LIST_KB_ARTICLES)
    def list_kb_articles(self, args):
        with self.db.transaction() as session:
            return kb_articles.list_articles(session, self.db, args)

    @contract_rpc(c.GET_KB_ARTICLE)
    def get_kb_article(self, _=None, id=None):
        with self.db.transaction() as session:
            return kb_articles.get(session, self.db, id)

    @contract_rpc(c.UPDATE_KB_ARTICLE)
    def update_kb_article(self, data, id=None, expected_version=None):
        with self.db.transaction() as session:
            return kb_articles.update(session, self.db, id, data, expected_version)

    @contract_rpc(c.DELETE_KB_ARTICLE)
    def delete_kb_article(self, _=None, id=None):
        with self.db.transaction() as session:
            kb_articles.remove(session, self.db, id)

    @contract_rpc(c.VOTE_KB_ARTICLE)
    def vote_kb_article(self, data, id=None):
        with self.db.transaction() as session:
            return kb_articles.vote(session, self.db, id, data["helpful"])

    # -- satisfaction ------------------------------------------------------------------------------
    @contract_rpc(c.CREATE_NPS_SURVEY)
    def create_nps_survey(self, data):
        with self.db.transaction() as session:
            return surveys.create_nps(session, self.db, data)

    @contract_rpc(c.GET_NPS_SURVEY)
    def get_nps_survey(self, _=None, id=None):
        with self.db.transaction() as session:
            return surveys.get_nps(session, self.db, id)

    @contract_rpc(c.LIST_SURVEYS)
    def list_surveys(self, args):
        with self.db.transaction() as session:
            return surveys.list_invitations(session, self.db, args)

    @contract_rpc(c.SATISFACTION_SUMMARY)
    def satisfaction_summary(self, _=None):
        with self.db.transaction() as session:
            return surveys.summary(session, self.db)

    @contract_rpc(c.RESPOND_SURVEY)
    def respond_survey(self, data, token=None):
        with self.db.transaction() as session:
            return surveys.respond(session, self.db, token, data)

    @contract_rpc(c.ISSUE_SURVEY_TOKEN)
    def issue_survey_token(self, _=None, id=None):
        with self.db.transaction() as session:
            return surveys.issue_email_token(session, self.db, id)

    # -- settings, notifications -------------------------------------------------------------------
    @contract_rpc(c.GET_SETTINGS)
    def get_settings(self, _=None):
        with self.db.transaction() as session:
            need(self.db.caller, "ticket", "read")
            return desk_settings.current(session)

    @contract_rpc(c.UPDATE_SETTINGS)
    def update_settings(self, data, expected_version=None):
        with self.db.transaction() as session:
            return desk_settings.update(session, self.db, data, expected_version)

    @contract_rpc(c.LIST_NOTIFICATIONS)
    def list_notifications(self, args):
        caller = self.db.caller
        with self.db.transaction() as session:
            query = select(Notification).where(Notification.user_id == caller.user_id)
            return page(session, query, Notification, args, ("created_at",))

    # -- SLA monitor -------------------------------------------------------------------------------
    @contract_rpc(c.SCAN_SLA)
    def scan_sla(self, _=None):
        need(self.db.caller, "sla_policy", "admin")
        return {"breached_tickets": self._scan()}

    @timer(interval=SCAN_INTERVAL)
    @periodic("SLA breach scan")
    def sla_monitor(self):
        self._scan()

    def _scan(self) -> int:
        total = 0
        while True:
            with self.db.transaction() as session:
                found = sla.scan_breaches(session, self.db, now(), SCAN_BATCH)
            total += found
            if found < SCAN_BATCH:
                return total
