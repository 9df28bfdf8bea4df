"""Routes of the sales context: leads to contracts, calendar, territories, forecast (API.md, Sales).

Most resources have the same five routes (list, create, read, update, delete); `resource()` builds
them from the contract's schemas so they behave and document alike. The rest are spelled out below.
"""
from __future__ import annotations

from flask import Response
from flask.views import MethodView
from marshmallow import Schema

import crm_sales_contracts as c
from crm_gateway.auth import requires
from crm_gateway.conventions import Blueprint, ListArgs, created, if_match_version, with_etag
from crm_gateway.idempotency import idempotent
from crm_gateway.rpc import call

blueprints: list = []
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _list_args(filters: type[Schema], name: str) -> type[Schema]:
    return type(name, (ListArgs, filters), {"SORTABLE": filters.SORTABLE})


def resource(path: str, noun: str, permission: str, item, create=None, update=None, filters=None, page=None,
             delete: bool = True, description: str = "") -> Blueprint:
    """A blueprint with GET/POST on /api/v1/<path> and GET/PATCH/DELETE on /api/v1/<path>/{record_id}."""
    blp = Blueprint(path, __name__, url_prefix=f"/api/v1/{path}", description=description or path)
    title = path.title().replace("-", "").replace("_", "")
    collection, single = {}, {}

    if filters is not None:
        @blp.arguments(_list_args(filters, f"{title}ListArgs"), location="query")
        @blp.response(200, page)
        @requires(permission, "read")
        def list_(self, args):
            return call("sales", f"list_{path.replace('-', '_')}", args)
        collection["get"] = list_

    if create is not None:
        @blp.arguments(create)
        @blp.response(201, item)
        @requires(permission, "create")
        @idempotent
        def post(self, body):
            record = call("sales", f"create_{noun}", body)
            return created(record, f"{path}.{title}Item", record_id=record["id"])
        collection["post"] = post

    @blp.response(200, item)
    @requires(permission, "read")
    def get(self, record_id):
        return with_etag(call("sales", f"get_{noun}", record_id))
    single["get"] = get

    if update is not None:
        @blp.arguments(update)
        @blp.response(200, item)
        @blp.alt_response(412, description="If-Match names a stale version")
        @requires(permission, "update")
        def patch(self, body, record_id):
            return with_etag(call("sales", f"update_{noun}", body, expected_version=if_match_version(),
                                  **{f"{noun}_id": record_id}))
        single["patch"] = patch

    if delete:
        @blp.response(204)
        @requires(permission, "delete")
        def delete_(self, record_id):
            call("sales", f"delete_{noun}", record_id)
            return Response(status=204)
        single["delete"] = delete_

    if collection:
        blp.route("")(type(f"{title}Collection", (MethodView,), collection))
    blp.route("/<id:record_id>", endpoint=f"{title}Item")(type(f"{title}Item", (MethodView,), single))
    blueprints.append(blp)
    return blp


# -- leads ---------------------------------------------------------------------------------------

leads = resource("leads", "lead", "lead", c.Lead, c.LeadCreate, c.LeadUpdate, c.LeadFilters, c.LeadPage,
                 description="Leads: duplicates (409 with `duplicates` unless `force`), status flow, assignment")


@leads.route("/<id:record_id>/convert")
class LeadConvert(MethodView):
    @leads.arguments(c.LeadConvert)
    @leads.response(200, c.ConvertResult)
    @leads.alt_response(409, description="the lead is converted already")
    @requires("lead", "update")
    def post(self, body, record_id):
        """Convert a lead: account (new or linked), contact, optionally an opportunity, in one transaction."""
        return call("sales", "convert_lead", body, lead_id=record_id)


imports_blp = Blueprint("lead_imports", __name__, url_prefix="/api/v1/leads/imports", description="Lead imports")


@imports_blp.route("")
class LeadImports(MethodView):
    @imports_blp.arguments(c.LeadImportRequest)
    @imports_blp.response(202, c.Job)
    @requires("lead", "create")
    @idempotent
    def post(self, body):
        """Import leads from CSV text or JSON rows; runs as a job whose progress GET shows."""
        from flask import url_for
        job = call("sales", "import_leads", body)
        return job, 202, {"Location": url_for("lead_imports.LeadImport", job_id=job["id"])}


@imports_blp.route("/<id:job_id>")
class LeadImport(MethodView):
    @imports_blp.response(200, c.Job)
    @requires("lead", "create")
    def get(self, job_id):
        return call("sales", "get_import", job_id)


rules_blp = Blueprint("assignment_rules", __name__, url_prefix="/api/v1/lead-assignment-rules",
                      description="Lead assignment rules (round-robin or least-loaded, in a team or territory)")


@rules_blp.route("")
class AssignmentRules(MethodView):
    @rules_blp.response(200, c.AssignmentRule(many=True))
    @requires("lead", "assign")
    def get(self):
        return call("sales", "list_assignment_rules")

    @rules_blp.arguments(c.AssignmentRuleCreate)
    @rules_blp.response(201, c.AssignmentRule)
    @requires("lead", "assign")
    @idempotent
    def post(self, body):
        return call("sales", "create_assignment_rule", body), 201


blueprints += [imports_blp, rules_blp]

# -- accounts, contacts ------------------------------------------------------------------------------

accounts = resource("accounts", "account", "account", c.Account, c.AccountCreate, c.AccountUpdate, c.AccountFilters,
                    c.AccountPage, description="Accounts: grade by value, lifecycle from orders, parents, merging")
contacts = resource("contacts", "contact", "contact", c.Contact, c.ContactCreate, c.ContactUpdate, c.ContactFilters,
                    c.ContactPage, description="Contacts")


def _merge_route(blp, noun: str, schema):
    @blp.route("/<id:record_id>/merge", endpoint=f"{noun.title()}Merge")
    class Merge(MethodView):
        @blp.arguments(c.MergeRequest)
        @blp.response(200, schema)
        @requires(noun, "update")
        def post(self, body, record_id):
            """Merge duplicates into this record; their history (deals, orders, activities) moves here."""
            return with_etag(call("sales", f"merge_{noun}s", body, **{f"{noun}_id": record_id}))
    return Merge


_merge_route(accounts, "account", c.Account)
_merge_route(contacts, "contact", c.Contact)

# -- opportunities -----------------------------------------------------------------------------------

opportunities = resource("opportunities", "opportunity", "opportunity", c.Opportunity, c.OpportunityCreate,
                         c.OpportunityUpdate, c.OpportunityFilters, c.OpportunityPage,
                         description="Opportunities: stages by PATCH {stage}, lost reason required, history")


@opportunities.route("/<id:record_id>/history")
class OpportunityHistory(MethodView):
    @opportunities.response(200, c.History)
    @requires("opportunity", "read")
    def get(self, record_id):
        """Every stage with when, who and the time spent in it."""
        return call("sales", "opportunity_history", record_id)


pipelines_blp = Blueprint("pipelines", __name__, url_prefix="/api/v1/pipelines", description="Sales pipelines")


@pipelines_blp.route("")
class Pipelines(MethodView):
    @pipelines_blp.response(200, c.PipelineList)
    @requires("opportunity", "read")
    def get(self):
        return call("sales", "list_pipelines")

    @pipelines_blp.arguments(c.PipelineCreate)
    @pipelines_blp.response(201, c.Pipeline)
    @requires("opportunity", "admin")
    @idempotent
    def post(self, body):
        return call("sales", "create_pipeline", body), 201


blueprints.append(pipelines_blp)

# -- territories -------------------------------------------------------------------------------------

territories = resource("territories", "territory", "territory", c.Territory, c.TerritoryCreate, c.TerritoryUpdate,
                       c.TerritoryFilters, c.TerritoryPage, delete=False, description="Territories")

# -- settings ----------------------------------------------------------------------------------------

settings_blp = Blueprint("sales_settings", __name__, url_prefix="/api/v1/sales-settings",
                         description="Sales settings: grade thresholds, discount limit, reminders, commission")


@settings_blp.route("")
class SalesSettings(MethodView):
    @settings_blp.response(200, c.SalesSettings)
    @requires("forecast", "read")
    def get(self):
        return call("sales", "get_settings")

    @settings_blp.arguments(c.SalesSettings)
    @settings_blp.response(200, c.SalesSettings)
    @requires("*", "admin")
    def patch(self, body):
        return call("sales", "update_settings", body)


blueprints.append(settings_blp)

# -- products, quotes, orders, contracts -------------------------------------------------------------

products = resource("products", "product", "product", c.Product, c.ProductCreate, c.ProductUpdate, c.ProductFilters,
                    c.ProductPage, description="The price book")
quotes_blp = resource("quotes", "quote", "quote", c.Quote, c.QuoteCreate, c.QuoteUpdate, c.QuoteFilters, c.QuotePage,
                      description="Quotes: lines, discounts, tax, totals; approval above the discount limit")


def _quote_action(action: str, permission: str, doc: str):
    @quotes_blp.route(f"/<id:record_id>/{action}", endpoint=f"Quote{action.title()}")
    class QuoteAction(MethodView):
        @quotes_blp.response(200, c.Quote)
        @quotes_blp.alt_response(409, description="not possible in the quote's status")
        @requires("quote", permission)
        def post(self, record_id):
            return with_etag(call("sales", f"{action}_quote", record_id))
    QuoteAction.post.__doc__ = doc
    return QuoteAction


_quote_action("approve", "admin", "A manager approves the discounts of a quote.")
_quote_action("send", "update", "Send the quote to the customer (approved first if a discount is above the limit).")
_quote_action("reject", "update", "The customer declined the quote.")


@quotes_blp.route("/<id:record_id>/accept", endpoint="QuoteAccept")
class QuoteAccept(MethodView):
    @quotes_blp.response(201, c.Order)
    @quotes_blp.alt_response(409, description="the quote is not sent, or accepted already")
    @requires("quote", "update")
    def post(self, record_id):
        """The customer accepted: an order is placed."""
        order = call("sales", "accept_quote", record_id)
        return created(order, "orders.OrdersItem", record_id=order["id"])


orders = resource("orders", "order", "order", c.Order, None, c.OrderUpdate, c.OrderFilters, c.OrderPage,
                  delete=False, description="Orders (from accepted quotes): placed, confirmed, shipped, delivered, "
                                            "cancelled")
contracts_blp = resource("contracts", "contract", "contract", c.Contract, c.ContractCreate, c.ContractUpdate,
                         c.ContractFilters, c.ContractPage,
                         description="Contracts: draft, signed, active, expired, terminated; .docx document")


@contracts_blp.route("/<id:record_id>/document", endpoint="ContractDocument")
class ContractDocument(MethodView):
    @contracts_blp.response(200, content_type=DOCX, description="the .docx file")
    @requires("contract", "read")
    def get(self, record_id):
        """The contract as a Word document (parties, lines, terms)."""
        import base64
        document = call("sales", "contract_document", record_id)
        return Response(base64.b64decode(document["content_base64"]), status=200, mimetype=document["content_type"],
                        headers={"Content-Disposition": f'attachment; filename="{document["filename"]}"'})


# -- activities, calendar, call lists ----------------------------------------------------------------

activities_blp = resource("activities", "activity", "activity", c.Activity, c.ActivityCreate, c.ActivityUpdate,
                          c.ActivityFilters, c.ActivityPage,
                          description="Calls, meetings (409 with `conflicts` unless allow_conflict), tasks, notes")
calendar_blp = Blueprint("calendar", __name__, url_prefix="/api/v1/calendar", description="Calendars")


@calendar_blp.route("")
class CalendarView(MethodView):
    @calendar_blp.arguments(c.CalendarQuery, location="query")
    @calendar_blp.response(200, c.Calendar)
    @requires("activity", "read")
    def get(self, args):
        """A user's (default: yours) or a team's activities between `from` and `to`."""
        return call("sales", "calendar", c.CalendarQuery().dump(args))


call_lists = Blueprint("call_lists", __name__, url_prefix="/api/v1/call-lists",
                       description="Telemarketing call lists (contacts who must not be called are skipped)")


@call_lists.route("")
class CallLists(MethodView):
    @call_lists.arguments(_list_args(c.CallListFilters, "CallListListArgs"), location="query")
    @call_lists.response(200, c.CallListPage)
    @requires("call_list", "read")
    def get(self, args):
        return call("sales", "list_call_lists", args)

    @call_lists.arguments(c.CallListCreate)
    @call_lists.response(201, c.CallList)
    @requires("call_list", "create")
    @idempotent
    def post(self, body):
        record = call("sales", "create_call_list", body)
        return created(record, "call_lists.CallListItem", record_id=record["id"])


@call_lists.route("/<id:record_id>")
class CallListItem(MethodView):
    @call_lists.response(200, c.CallList)
    @requires("call_list", "read")
    def get(self, record_id):
        return with_etag(call("sales", "get_call_list", record_id))


@call_lists.route("/<id:record_id>/calls")
class CallListCalls(MethodView):
    @call_lists.arguments(c.CallLog)
    @call_lists.response(200, c.CallList)
    @requires("call_list", "update")
    def post(self, body, record_id):
        """Log a call to a contact on the list (outcome, duration, callback)."""
        return with_etag(call("sales", "log_call", body, call_list_id=record_id))


blueprints += [calendar_blp, call_lists]

# -- targets, forecast, commissions, expenses --------------------------------------------------------

targets = resource("targets", "target", "target", c.Target, c.TargetCreate, c.TargetUpdate, c.TargetFilters,
                   c.TargetPage, description="Quotas per user, team or territory and period")
forecast_blp = Blueprint("forecast", __name__, url_prefix="/api/v1", description="Forecast and commissions")


@forecast_blp.route("/forecast")
class ForecastView(MethodView):
    @forecast_blp.arguments(c.ForecastQuery, location="query")
    @forecast_blp.response(200, c.Forecast)
    @requires("forecast", "read")
    def get(self, args):
        """Pipeline, weighted, commit, closed won, target and attainment for a period, by owner, team or territory."""
        return call("sales", "forecast", args)


@forecast_blp.route("/commissions")
class CommissionsView(MethodView):
    @forecast_blp.arguments(c.CommissionQuery, location="query")
    @forecast_blp.response(200, c.Commissions)
    @requires("commission", "read")
    def get(self, args):
        """Commissions on closed-won amounts in a period at the configured rates."""
        return call("sales", "commissions", args)


blueprints.append(forecast_blp)
expenses_blp = resource("expenses", "expense", "expense", c.Expense, c.ExpenseCreate, c.ExpenseUpdate,
                        c.ExpenseFilters, c.ExpensePage, description="Expense claims with approval")


def _expense_decision(action: str, approve: bool):
    @expenses_blp.route(f"/<id:record_id>/{action}", endpoint=f"Expense{action.title()}")
    class Decision(MethodView):
        @expenses_blp.arguments(c.ExpenseDecision)
        @expenses_blp.response(200, c.Expense)
        @requires("expense", "admin")
        def post(self, body, record_id):
            return with_etag(call("sales", "decide_expense", body, expense_id=record_id, approve=approve))
    return Decision


_expense_decision("approve", True)
_expense_decision("reject", False)
