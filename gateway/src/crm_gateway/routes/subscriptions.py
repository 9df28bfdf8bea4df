"""Routes of subscriptions and partners (API.md, Subscriptions and partners), served by the sales service."""
from __future__ import annotations

import base64

from flask import Response, jsonify, request
from flask.views import MethodView

import crm_sales_contracts as c
from crm_gateway.auth import requires
from crm_gateway.conventions import Route, build, resource
from crm_gateway.rpc import call

ENDED = {409: "the subscription is cancelled or expired"}
DECIDED = {409: "the registration is decided already"}

ROUTES = [
    *resource("plans", c.LIST_PLANS, c.CREATE_PLAN, c.GET_PLAN, c.UPDATE_PLAN),
    Route("GET", "/subscriptions/metrics", c.SUBSCRIPTION_METRICS),  # before the <id> routes
    *resource("subscriptions", c.LIST_SUBSCRIPTIONS, c.CREATE_SUBSCRIPTION, c.GET_SUBSCRIPTION),
    Route("PATCH", "/subscriptions/<id>", c.UPDATE_SUBSCRIPTION, answers={409: "not possible in its status"}),
    Route("POST", "/subscriptions/<id>/change-plan", c.CHANGE_PLAN, answers=ENDED),
    Route("POST", "/subscriptions/<id>/cancel", c.CANCEL_SUBSCRIPTION, answers=ENDED),
    Route("GET", "/content-subscriptions", c.LIST_CONTENT_SUBSCRIPTIONS),
    Route("POST", "/content-subscriptions", c.SUBSCRIBE_CONTENT, status=201, location=""),
    Route("POST", "/content-subscriptions/<id>/unsubscribe", c.UNSUBSCRIBE_CONTENT),

    Route("GET", "/partner-share-rates", c.LIST_SHARE_RATES),
    Route("PUT", "/partner-share-rates", c.SET_SHARE_RATE),
    Route("POST", "/partners/lead-distribution", c.DISTRIBUTE_LEADS),
    *resource("partners", c.LIST_PARTNERS, c.CREATE_PARTNER, c.GET_PARTNER, c.UPDATE_PARTNER),
    Route("GET", "/partners/<id>/trainings", c.LIST_TRAININGS),
    Route("POST", "/partners/<id>/trainings", c.ADD_TRAINING, status=201, location=""),
    Route("GET", "/partners/<id>/orders", c.LIST_PARTNER_ORDERS),
    Route("POST", "/partners/<id>/orders", c.PLACE_PARTNER_ORDER, status=201, location="/orders/{id}",
          answers={409: "the partner is inactive"}),
    Route("GET", "/partners/<id>/leads", c.LIST_PARTNER_LEADS),
    *resource("deal-registrations", c.LIST_DEAL_REGISTRATIONS, c.CREATE_DEAL_REGISTRATION, c.GET_DEAL_REGISTRATION),
    Route("POST", "/deal-registrations/<id>/approve", c.APPROVE_DEAL_REGISTRATION, answers=DECIDED),
    Route("POST", "/deal-registrations/<id>/reject", c.REJECT_DEAL_REGISTRATION, answers=DECIDED),
]
blueprints = build("subscriptions", ROUTES)

# Hand-written: with format=xlsx the answer is a workbook, not JSON (the service sends it base64-encoded); the
# query is loaded by the service with the contract's input (StatementQuery: 422 for a bad period or format).
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_partners = next(blp for blp in blueprints if blp.name.endswith("partners"))


@_partners.route("/partners/<id:record_id>/statements", endpoint="PartnersItemStatements")
class PartnerStatement(MethodView):
    @_partners.doc(parameters=[
        {"name": "period", "in": "query", "required": True, "schema": {"type": "string",
                                                                      "pattern": c.PERIOD_RE}},
        {"name": "format", "in": "query", "schema": {"type": "string", "enum": list(c.STATEMENT_FORMATS),
                                                     "default": "json"}}])
    @_partners.response(200, c.Statement, description="the statement (format=json)")
    @_partners.alt_response(422, description="a bad period or format", success=False)
    @requires(*c.PARTNER_STATEMENT.permission)
    def get(self, record_id):
        """The partner's profit share of a period: won deals and orders at its tier's rates (json or xlsx)."""
        answer = call("sales", c.PARTNER_STATEMENT.method, request.args.to_dict(), id=record_id)
        if "content_base64" not in answer:
            return jsonify(answer)
        return Response(base64.b64decode(answer["content_base64"]), status=200, mimetype=answer["content_type"],
                        headers={"Content-Disposition": f'attachment; filename="{answer["filename"]}"'})
