"""Routes of the sales context: leads to contracts, calendar, territories, forecast (API.md, Sales).

One line per route (crm_gateway.conventions): the contract names the call, its input and answer, and the
permission. `location=""` marks a create whose record has no route of its own (no Location header).
"""
from __future__ import annotations

import base64

from flask import Response
from flask.views import MethodView

import crm_sales_contracts as c
from crm_gateway.auth import requires
from crm_gateway.conventions import Route, build, resource
from crm_gateway.rpc import call

NOT_NOW = {409: "not possible in the quote's status"}

ROUTES = [
    *resource("leads", c.LIST_LEADS, c.CREATE_LEAD, c.GET_LEAD, c.UPDATE_LEAD, c.DELETE_LEAD),
    Route("POST", "/leads/<id>/convert", c.CONVERT_LEAD, answers={409: "the lead is converted already"}),
    Route("POST", "/leads/imports", c.IMPORT_LEADS, status=202, location="/leads/imports/{id}"),
    Route("GET", "/leads/imports/<job_id>", c.GET_IMPORT),
    Route("GET", "/lead-assignment-rules", c.LIST_ASSIGNMENT_RULES),
    Route("POST", "/lead-assignment-rules", c.CREATE_ASSIGNMENT_RULE, status=201, location=""),
    *resource("territories", c.LIST_TERRITORIES, c.CREATE_TERRITORY, c.GET_TERRITORY, c.UPDATE_TERRITORY),

    *resource("accounts", c.LIST_ACCOUNTS, c.CREATE_ACCOUNT, c.GET_ACCOUNT, c.UPDATE_ACCOUNT, c.DELETE_ACCOUNT),
    Route("POST", "/accounts/<id>/merge", c.MERGE_ACCOUNTS),
    *resource("contacts", c.LIST_CONTACTS, c.CREATE_CONTACT, c.GET_CONTACT, c.UPDATE_CONTACT, c.DELETE_CONTACT),
    Route("POST", "/contacts/<id>/merge", c.MERGE_CONTACTS),

    *resource("opportunities", c.LIST_OPPORTUNITIES, c.CREATE_OPPORTUNITY, c.GET_OPPORTUNITY, c.UPDATE_OPPORTUNITY,
              c.DELETE_OPPORTUNITY),
    Route("GET", "/opportunities/<id>/history", c.OPPORTUNITY_HISTORY),
    Route("GET", "/pipelines", c.LIST_PIPELINES),
    Route("POST", "/pipelines", c.CREATE_PIPELINE, status=201, location=""),

    *resource("products", c.LIST_PRODUCTS, c.CREATE_PRODUCT, c.GET_PRODUCT, c.UPDATE_PRODUCT, c.DELETE_PRODUCT),
    *resource("quotes", c.LIST_QUOTES, c.CREATE_QUOTE, c.GET_QUOTE, c.UPDATE_QUOTE, c.DELETE_QUOTE),
    Route("POST", "/quotes/<id>/approve", c.APPROVE_QUOTE, answers=NOT_NOW),
    Route("POST", "/quotes/<id>/send", c.SEND_QUOTE, answers=NOT_NOW),
    Route("POST", "/quotes/<id>/reject", c.REJECT_QUOTE, answers=NOT_NOW),
    Route("POST", "/quotes/<id>/accept", c.ACCEPT_QUOTE, status=201, location="/orders/{id}", idempotent=False,
          answers={409: "the quote is not sent, or accepted already"}),
    *resource("orders", c.LIST_ORDERS, c.GET_ORDER, c.UPDATE_ORDER),
    *resource("contracts", c.LIST_CONTRACTS, c.CREATE_CONTRACT, c.GET_CONTRACT, c.UPDATE_CONTRACT,
              c.DELETE_CONTRACT),

    *resource("activities", c.LIST_ACTIVITIES, c.CREATE_ACTIVITY, c.GET_ACTIVITY, c.UPDATE_ACTIVITY,
              c.DELETE_ACTIVITY),
    Route("GET", "/calendar", c.CALENDAR),
    *resource("call-lists", c.LIST_CALL_LISTS, c.CREATE_CALL_LIST, c.GET_CALL_LIST),
    Route("POST", "/call-lists/<id>/calls", c.LOG_CALL),

    *resource("targets", c.LIST_TARGETS, c.CREATE_TARGET, c.GET_TARGET, c.UPDATE_TARGET, c.DELETE_TARGET),
    Route("GET", "/forecast", c.FORECAST),
    Route("GET", "/commissions", c.COMMISSIONS),
    *resource("expenses", c.LIST_EXPENSES, c.CREATE_EXPENSE, c.GET_EXPENSE, c.UPDATE_EXPENSE, c.DELETE_EXPENSE),
    Route("POST", "/expenses/<id>/approve", c.DECIDE_EXPENSE, options={"approve": True}),
    Route("POST", "/expenses/<id>/reject", c.DECIDE_EXPENSE, options={"approve": False}),
    Route("GET", "/sales-settings", c.GET_SETTINGS),
    Route("PATCH", "/sales-settings", c.UPDATE_SETTINGS),
]
blueprints = build("sales", ROUTES)

# Hand-written: the answer is a Word document, not JSON (the service sends it base64-encoded in its answer).
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_contracts = next(blp for blp in blueprints if blp.name == "sales_contracts")


@_contracts.route("/contracts/<id:record_id>/document", endpoint="ContractsItemDocument")
class ContractDocument(MethodView):
    @_contracts.response(200, content_type=DOCX, description="the .docx file")
    @requires(*c.CONTRACT_DOCUMENT.permission)
    def get(self, record_id):
        """The contract as a Word document (parties, lines, terms)."""
        document = call("sales", c.CONTRACT_DOCUMENT.method, id=record_id)
        return Response(base64.b64decode(document["content_base64"]), status=200, mimetype=document["content_type"],
                        headers={"Content-Disposition": f'attachment; filename="{document["filename"]}"'})
