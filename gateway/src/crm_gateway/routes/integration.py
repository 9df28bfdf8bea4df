"""Routes of the integration context: the event feed, the event catalogue, /asyncapi.json and webhooks."""
from __future__ import annotations

from flask import jsonify, url_for
from flask.views import MethodView

import crm_integration_contracts as c
from crm_gateway import asyncapi
from crm_gateway.auth import public, requires
from crm_gateway.conventions import Blueprint, Route, build, resource
from crm_gateway.openapi import REFUSES_VALID_INPUT

ROUTES = [
    Route("GET", "/events", c.LIST_EVENTS),
    *resource("webhooks", c.LIST_WEBHOOKS, c.CREATE_WEBHOOK, c.GET_WEBHOOK, c.UPDATE_WEBHOOK, c.DELETE_WEBHOOK),
    Route("POST", "/webhooks/<id>/rotate-secret", c.ROTATE_SECRET),
    Route("GET", "/webhooks/<id>/deliveries", c.LIST_DELIVERIES),
    Route("GET", "/webhook-deliveries", c.LIST_ALL_DELIVERIES),
    Route("POST", "/webhooks/<id>/deliveries/<name>/retry", c.RETRY_DELIVERY),
    Route("POST", "/webhooks/<id>/test", c.TEST_WEBHOOK, status=202, location=""),
]
blueprints = build("integration", ROUTES)

# Hand-written: the catalogue and the AsyncAPI document are built here, from the contracts packages the
# gateway has installed (every service's), not by a service: no service holds every contract.
_events = next(blp for blp in blueprints if blp.name == "integration_events")


@_events.route("/events/catalog", endpoint="EventsCatalog")
class EventCatalog(MethodView):
    @_events.response(200, description="every event type with its version and payload schema")
    @requires(*c.LIST_EVENTS.permission)
    def get(self):
        """Every event type of the suite: producer, version, description, entity, action, payload JSON Schema."""
        return jsonify(asyncapi.catalog())


docs = Blueprint("asyncapi", __name__, description="The event catalogue as AsyncAPI 3.0")


@docs.route("/asyncapi.json", endpoint="AsyncApi")
class AsyncApiDocument(MethodView):
    @docs.response(200, description="the AsyncAPI 3.0 document of every event")
    @public
    def get(self):
        """The AsyncAPI 3.0 document of every event type (generated from the contracts)."""
        return jsonify(asyncapi.document())


blueprints.append(docs)


# Hand-written: an upsert by external id answers 201 when it created the record and 200 when it updated it
# (one RPC, whose answer says which); the records are sales', the routes are the integration surface's.
import crm_sales_contracts as sales  # noqa: E402
from crm_gateway.conventions import instance, with_etag  # noqa: E402
from crm_gateway.rpc import call  # noqa: E402

upserts = Blueprint("integration_upserts", __name__, url_prefix="/api/v1",
                    description="integration: upserts by external id (records of sales)")


def _upsert_view(path: str, contract, get_endpoint: str):
    class Upsert(MethodView):
        @upserts.arguments(instance(contract.input), location="json")
        @upserts.response(200, contract.output, description="updated")
        @upserts.alt_response(201, schema=contract.output, description="created (Location names the record)")
        @requires(*contract.permission)
        def put(self, body, system, external_id):
            record = call(contract.service, contract.method, body, system=system, external_id=external_id)
            if record.get("created"):
                return with_etag(record, 201, {"Location": url_for(get_endpoint, record_id=record["id"])})
            return with_etag(record, 200)

    Upsert.put.__doc__ = (f"Create or update the {contract.method.split('_', 1)[1]} another system names by its id: "
                          "201 when created, 200 when updated; the body as for a create.")
    name = f"{path.title()}ByExternalId"
    upserts.route(f"/{path}/by-external-id/<external_system:system>/<external_id:external_id>", endpoint=name)(
        type(name, (Upsert,), {}))


_upsert_view("accounts", sales.UPSERT_ACCOUNT, "sales_accounts.AccountsItem")
_upsert_view("contacts", sales.UPSERT_CONTACT, "sales_contacts.ContactsItem")
_upsert_view("products", sales.UPSERT_PRODUCT, "sales_products.ProductsItem")
_upsert_view("orders", sales.UPSERT_ORDER, "sales_orders.OrdersItem")
blueprints.append(upserts)


# Hand-written: the bulk form for ETL takes the file itself (NDJSON, one record a line) as the body, and
# answers 202 with the Location of its job (progress and per-row errors there).
from flask import request  # noqa: E402

from crm_common.contracts.schemas import Job  # noqa: E402
from crm_common.errors import ServiceError  # noqa: E402
from crm_gateway.conventions import accepts  # noqa: E402

NDJSON = "application/x-ndjson"
NDJSON_REFUSAL = {"description": "Unprocessable Entity: refused by a rule the schema cannot state: the body is UTF-8 "
                                 "with at least one line (each line's own errors are the job's).",
                  "content": {"application/problem+json": {"schema": "Problem"}}, REFUSES_VALID_INPUT: True}
NDJSON_BODY = {"required": True, "content": {NDJSON: {"schema": {"type": "string", "minLength": 1}, "example":
                                                      '{"external_id": "K-1", "name": "Acme"}\n'}}}


def _bulk_views(path: str, start, progress):
    class BulkUpsert(MethodView):
        @upserts.response(202, Job, description="queued: Location names the job")
        @upserts.doc(requestBody=NDJSON_BODY, responses={422: NDJSON_REFUSAL})
        @accepts(NDJSON)
        @requires(*start.permission)
        def post(self, system):
            try:
                text = request.get_data().decode("utf-8")
            except UnicodeDecodeError:
                raise ServiceError("validation_failed", "the request has invalid fields",
                                   errors={"ndjson": ["not UTF-8 text"]}) from None
            job = call(start.service, start.method, {"ndjson": text}, system=system)
            return job, 202, {"Location": url_for(f"{upserts.name}.{path.title()}BulkJob", system=system,
                                                  job_id=job["id"])}

    class BulkJob(MethodView):
        @upserts.response(200, Job, description="the job: status, progress, per-row errors (row, field, message)")
        @requires(*progress.permission)
        def get(self, system, job_id):
            return call(progress.service, progress.method, None, system=system, job_id=job_id)

    BulkUpsert.post.__doc__ = (f"Upsert {path} by external id from an NDJSON body (one JSON object a line, each with "
                               "its `external_id` and the fields as for a create), as a job: 202 + its Location.")
    BulkJob.get.__doc__ = f"A bulk upsert of {path}: its status, progress and per-row errors."
    upserts.route(f"/{path}/by-external-id/<external_system:system>/bulk", endpoint=f"{path.title()}BulkUpsert")(
        type(f"{path.title()}BulkUpsert", (BulkUpsert,), {}))
    upserts.route(f"/{path}/by-external-id/<external_system:system>/bulk/<string:job_id>", endpoint=f"{path.title()}BulkJob")(
        type(f"{path.title()}BulkJob", (BulkJob,), {}))


_bulk_views("accounts", sales.BULK_UPSERT_ACCOUNTS, sales.GET_BULK_UPSERT_ACCOUNTS)
_bulk_views("contacts", sales.BULK_UPSERT_CONTACTS, sales.GET_BULK_UPSERT_CONTACTS)
_bulk_views("products", sales.BULK_UPSERT_PRODUCTS, sales.GET_BULK_UPSERT_PRODUCTS)
_bulk_views("orders", sales.BULK_UPSERT_ORDERS, sales.GET_BULK_UPSERT_ORDERS)
