"""Routes of the service_desk context: tickets and their conversation, groups, agents, routing rules,
business hours, SLA policies, service contracts, complaints, knowledge base, surveys, settings."""
from __future__ import annotations

import dataclasses

from flask import g, request
from flask.views import MethodView
from marshmallow import Schema

import crm_service_desk_contracts as C
from crm_gateway.auth import authenticate, public, requires
from crm_gateway.conventions import Blueprint, ListArgs, created, if_match_version, page_schema, with_etag
from crm_gateway.idempotency import idempotent
from crm_gateway.rpc import call

SERVICE = "service_desk"


def sd(method: str, *args, **kwargs):
    return call(SERVICE, method, *args, **kwargs)


def list_args(name: str, filters: type[Schema] | None, sortable: tuple[str, ...], **overrides) -> type[Schema]:
    bases = (filters,) if filters is not None else (ListArgs,)
    return type(name, bases, {"SORTABLE": sortable, **overrides})


def crud_blueprint(name: str, url: str, resource: str, singular: str, plural: str, schema, create_schema,
                   update_schema, filters=None, sortable=("created_at", "updated_at", "name"),
                   description: str = "", deletable: bool = True) -> Blueprint:
    """The five routes of a plain resource: list, create, read, update (If-Match), delete."""
    blp = Blueprint(name, __name__, url_prefix=url, description=description)
    args_schema = list_args(f"{schema.__name__.replace('Schema', '')}ListArgs", filters, sortable)
    page = page_schema(schema, f"{schema.__name__.replace('Schema', '')}Page")

    @blp.route("")
    class Collection(MethodView):
        @blp.arguments(args_schema, location="query")
        @blp.response(200, page)
        @requires(resource, "read")
        def get(self, args):
            return sd(f"list_{plural}", args)

        @blp.arguments(create_schema)
        @blp.response(201, schema)
        @requires(resource, "create")
        @idempotent
        def post(self, body):
            record = sd(f"create_{singular}", body)
            return created(record, f"{name}.Item", record_id=record["id"])

    @blp.route("/<uuid:record_id>")
    class Item(MethodView):
        @blp.response(200, schema)
        @requires(resource, "read")
        def get(self, record_id):
            return with_etag(sd(f"get_{singular}", None, id=str(record_id)))

        @blp.arguments(update_schema)
        @blp.response(200, schema)
        @requires(resource, "update")
        def patch(self, body, record_id):
            return with_etag(sd(f"update_{singular}", body, id=str(record_id), expected_version=if_match_version()))

        if deletable:
            @blp.response(204)
            @requires(resource, "delete")
            def delete(self, record_id):
                sd(f"delete_{singular}", None, id=str(record_id))

    return blp


# -- tickets ---------------------------------------------------------------------------------------

tickets = Blueprint("tickets", __name__, url_prefix="/api/v1/tickets",
                    description="Tickets from every channel, their replies, notes and time")
TicketListArgs = C.TicketQuery
CommentListArgs = C.CommentQuery
TimeLogListArgs = C.TimeLogQuery


@tickets.route("")
class Tickets(MethodView):
    @tickets.arguments(TicketListArgs, location="query")
    @tickets.response(200, page_schema(C.TicketSchema, "TicketPage"))
    @requires("ticket", "read")
    def get(self, args):
        return sd("list_tickets", args)

    @tickets.arguments(C.TicketCreateSchema)
    @tickets.response(201, C.TicketSchema)
    @requires("ticket", "create")
    @idempotent
    def post(self, body):
        ticket = sd("create_ticket", body)
        return created(ticket, "tickets.Ticket", ticket_id=ticket["id"])


@tickets.route("/<uuid:ticket_id>")
class Ticket(MethodView):
    @tickets.response(200, C.TicketSchema)
    @requires("ticket", "read")
    def get(self, ticket_id):
        return with_etag(sd("get_ticket", None, id=str(ticket_id)))

    @tickets.arguments(C.TicketUpdateSchema)
    @tickets.response(200, C.TicketSchema)
    @requires("ticket", "update")
    def patch(self, body, ticket_id):
        return with_etag(sd("update_ticket", body, id=str(ticket_id), expected_version=if_match_version()))

    @tickets.response(204)
    @requires("ticket", "delete")
    def delete(self, ticket_id):
        sd("delete_ticket", None, id=str(ticket_id))


@tickets.route("/<uuid:ticket_id>/comments")
class Comments(MethodView):
    @tickets.arguments(CommentListArgs, location="query")
    @tickets.response(200, page_schema(C.CommentSchema, "CommentPage"))
    @requires("comment", "read")
    def get(self, args, ticket_id):
        return sd("list_comments", args, ticket_id=str(ticket_id))

    @tickets.arguments(C.CommentCreateSchema)
    @tickets.response(201, C.CommentSchema)
    @requires("comment", "create")
    @idempotent
    def post(self, body, ticket_id):
        comment = sd("add_comment", body, ticket_id=str(ticket_id))
        return created(comment, "tickets.Comments", ticket_id=str(ticket_id))


@tickets.route("/<uuid:ticket_id>/time-logs")
class TimeLogs(MethodView):
    @tickets.arguments(TimeLogListArgs, location="query")
    @tickets.response(200, page_schema(C.TimeLogSchema, "TimeLogPage"))
    @requires("ticket", "update")
    def get(self, args, ticket_id):
        return sd("list_time_logs", args, ticket_id=str(ticket_id))

    @tickets.arguments(C.TimeLogCreateSchema)
    @tickets.response(201, C.TimeLogSchema)
    @requires("ticket", "update")
    @idempotent
    def post(self, body, ticket_id):
        log = sd("log_time", body, ticket_id=str(ticket_id))
        return created(log, "tickets.TimeLogs", ticket_id=str(ticket_id))


@tickets.route("/<uuid:ticket_id>/suggestions")
class Suggestions(MethodView):
    @tickets.response(200, C.KbArticleList)
    @requires("ticket", "read")
    def get(self, ticket_id):
        return sd("ticket_suggestions", None, ticket_id=str(ticket_id))


@tickets.route("/<uuid:ticket_id>/kb-article")
class TicketToArticle(MethodView):
    @tickets.response(201, C.KbArticleSchema)
    @requires("kb_article", "create")
    @idempotent
    def post(self, ticket_id):
        article = sd("ticket_to_article", None, ticket_id=str(ticket_id))
        return created(article, "kb_articles.Item", record_id=article["id"])


# -- configuration ---------------------------------------------------------------------------------

groups = crud_blueprint("groups", "/api/v1/groups", "group", "group", "groups", C.GroupSchema,
                        C.GroupCreateSchema, C.GroupUpdateSchema, C.GroupQuery,
                        description="Support groups: members, manager, assignment method")
routing_rules = crud_blueprint("routing_rules", "/api/v1/routing-rules", "routing_rule", "routing_rule",
                               "routing_rules", C.RoutingRuleSchema, C.RoutingRuleCreateSchema,
                               C.RoutingRuleUpdateSchema, sortable=("created_at", "updated_at", "position", "name"),
                               description="Rules that send new tickets to groups")
business_hours = crud_blueprint("business_hours", "/api/v1/business-hours", "business_hours", "business_hours",
                                "business_hours_list", C.BusinessHoursSchema, C.BusinessHoursCreateSchema,
                                C.BusinessHoursUpdateSchema, description="Working-hours calendars with holidays")
sla_policies = crud_blueprint("sla_policies", "/api/v1/sla-policies", "sla_policy", "sla_policy", "sla_policies",
                              C.SlaPolicySchema, C.SlaPolicyCreateSchema, C.SlaPolicyUpdateSchema,
                              C.SlaPolicyQuery, description="First-response and resolution targets")
service_contracts = crud_blueprint("service_contracts", "/api/v1/service-contracts", "service_contract",
                                   "service_contract", "service_contracts", C.ServiceContractSchema,
                                   C.ServiceContractCreateSchema, C.ServiceContractUpdateSchema,
                                   C.ServiceContractQuery, sortable=("created_at", "updated_at", "name", "ends_on"),
                                   description="Warranties and service contracts (entitlements)")
kb_articles = crud_blueprint("kb_articles", "/api/v1/kb/articles", "kb_article", "kb_article", "kb_articles",
                             C.KbArticleSchema, C.KbArticleCreateSchema, C.KbArticleUpdateSchema,
                             C.KbArticleQuery, sortable=C.KbArticleQuery.SORTABLE,
                             description="Knowledge base articles; ?q= ranks a full-text search")


@sla_policies.route("/compliance")
class Compliance(MethodView):
    @sla_policies.response(200, C.ComplianceList)
    @requires("sla_policy", "read")
    def get(self):
        return sd("sla_compliance")


@sla_policies.route("/<uuid:record_id>/compliance")
class PolicyCompliance(MethodView):
    @sla_policies.response(200, C.ComplianceList)
    @requires("sla_policy", "read")
    def get(self, record_id):
        return sd("sla_compliance", None, id=str(record_id))


@kb_articles.route("/<uuid:record_id>/votes")
class Votes(MethodView):
    @kb_articles.arguments(C.KbVoteSchema)
    @kb_articles.response(200, C.KbArticleSchema)
    @requires("kb_article", "read")
    def post(self, body, record_id):
        return with_etag(sd("vote_kb_article", body, id=str(record_id)))


agents = Blueprint("agents", __name__, url_prefix="/api/v1/agents", description="Support agents and availability")


@agents.route("")
class Agents(MethodView):
    @agents.arguments(C.AgentQuery, location="query")
    @agents.response(200, C.AgentList)
    @requires("group", "read")
    def get(self, args):
        return sd("list_agents", args)


@agents.route("/<uuid:user_id>")
class Agent(MethodView):
    @agents.arguments(C.AgentUpdateSchema)
    @agents.response(200, C.AgentSchema)
    @requires("group", "read")
    def patch(self, body, user_id):
        return sd("update_agent", body, id=str(user_id))


# -- complaints ------------------------------------------------------------------------------------

complaints = Blueprint("complaints", __name__, url_prefix="/api/v1/complaints",
                       description="Complaints: deadlines, root cause, resolution, compensation")
ComplaintListArgs = C.ComplaintQuery


@complaints.route("")
class Complaints(MethodView):
    @complaints.arguments(ComplaintListArgs, location="query")
    @complaints.response(200, page_schema(C.ComplaintSchema, "ComplaintPage"))
    @requires("complaint", "read")
    def get(self, args):
        return sd("list_complaints", args)

    @complaints.arguments(C.ComplaintCreateSchema)
    @complaints.response(201, C.ComplaintSchema)
    @requires("complaint", "create")
    @idempotent
    def post(self, body):
        complaint = sd("create_complaint", body)
        return created(complaint, "complaints.Complaint", complaint_id=complaint["id"])


@complaints.route("/report")
class ComplaintReport(MethodView):
    @complaints.arguments(C.ComplaintReportInput, location="query")
    @complaints.response(200, C.ComplaintReportSchema)
    @requires("complaint", "read")
    def get(self, args):
        return sd("complaint_report", args)


@complaints.route("/<uuid:complaint_id>")
class Complaint(MethodView):
    @complaints.response(200, C.ComplaintSchema)
    @requires("complaint", "read")
    def get(self, complaint_id):
        return with_etag(sd("get_complaint", None, id=str(complaint_id)))

    @complaints.arguments(C.ComplaintUpdateSchema)
    @complaints.response(200, C.ComplaintSchema)
    @requires("complaint", "update")
    def patch(self, body, complaint_id):
        return with_etag(sd("update_complaint", body, id=str(complaint_id), expected_version=if_match_version()))


# -- satisfaction ----------------------------------------------------------------------------------

surveys = Blueprint("surveys", __name__, url_prefix="/api/v1/surveys",
                    description="CSAT surveys of solved tickets and NPS surveys of contacts")
SurveyListArgs = C.SurveyQuery


@surveys.route("")
class Surveys(MethodView):
    @surveys.arguments(SurveyListArgs, location="query")
    @surveys.response(200, page_schema(C.SurveyInvitationSchema, "SurveyInvitationPage"))
    @requires("survey", "read")
    def get(self, args):
        return sd("list_surveys", args)

    @surveys.arguments(C.NpsSurveyCreateSchema)
    @surveys.response(201, C.NpsSurveySchema)
    @requires("survey", "create")
    @idempotent
    def post(self, body):
        survey = sd("create_nps_survey", body)
        return created(survey, "surveys.NpsSurvey", survey_id=survey["id"])


@surveys.route("/summary")
class SatisfactionSummary(MethodView):
    @surveys.response(200, C.SatisfactionSummarySchema)
    @requires("survey", "read")
    def get(self):
        return sd("satisfaction_summary")


@surveys.route("/<uuid:survey_id>")
class NpsSurvey(MethodView):
    @surveys.response(200, C.NpsSurveySchema)
    @requires("survey", "read")
    def get(self, survey_id):
        return sd("get_nps_survey", None, id=str(survey_id))


@surveys.route("/<token>/responses", methods=["POST"])
@surveys.arguments(C.SurveyResponseCreateSchema)
@surveys.response(201, C.SurveyResponseSchema)
@surveys.doc(security=[])
@public
def survey_response(body, token):
    """Answer a survey once with its token (no login: the token is the credential). A caller who sends
    credentials is identified, so that the service desk can refuse staff (403)."""
    if request.headers.get("Authorization") or request.headers.get("X-API-Key"):
        g.actor = dataclasses.replace(authenticate(), client_ip=request.remote_addr)
    return sd("respond_survey", body, token=token), 201


# -- settings and notifications --------------------------------------------------------------------

desk = Blueprint("service_desk", __name__, url_prefix="/api/v1/service-desk",
                 description="Service desk settings, notifications and operations")
NotificationListArgs = C.NotificationQuery


@desk.route("/settings")
class Settings(MethodView):
    @desk.response(200, C.DeskSettingsSchema)
    @requires("ticket", "read")
    def get(self):
        return with_etag(sd("get_settings"))

    @desk.arguments(C.DeskSettingsUpdateSchema)
    @desk.response(200, C.DeskSettingsSchema)
    @requires("ticket", "admin")
    def patch(self, body):
        return with_etag(sd("update_settings", body, expected_version=if_match_version()))


@desk.route("/notifications")
class Notifications(MethodView):
    @desk.arguments(NotificationListArgs, location="query")
    @desk.response(200, page_schema(C.NotificationSchema, "NotificationPage"))
    @requires("ticket", "read")
    def get(self, args):
        return sd("list_notifications", args)


@desk.route("/sla-scan")
class SlaScan(MethodView):
    @desk.response(200)
    @requires("sla_policy", "admin")
    def post(self):
        """Run one SLA breach scan now (the monitor also runs every few seconds)."""
        return sd("scan_sla")


blueprints = [tickets, groups, agents, routing_rules, business_hours, sla_policies, service_contracts,
              complaints, kb_articles, surveys, desk]
