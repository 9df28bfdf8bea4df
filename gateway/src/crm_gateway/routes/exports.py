"""Bulk exports (issue 15, item 6): any list the gateway serves, every page of it over the caller's scope, as
NDJSON or CSV, built by the integration service as a job and downloaded once done.

The gateway knows every list (the route tables of the other modules): `POST /exports {"resource": "leads"}`
names one by its path, and the gateway hands the integration service that list's method, the permission it
declares and its columns. Any signed-in caller may ask; the integration service refuses (403) one whose role
may not read that list, and the list itself applies the caller's record scope to every page.
"""
from __future__ import annotations

import functools
import importlib
import re

from flask import Response, stream_with_context, url_for
from flask.views import MethodView
from marshmallow import ValidationError

import crm_integration_contracts as c
from crm_common.contracts.registry import instance
from crm_common.contracts.schemas import Job, Page
from crm_common.errors import ServiceError
from crm_gateway.auth import SELF_SERVICE, requires
from crm_gateway.conventions import Route, build
from crm_gateway.idempotency import kept_by_service, passed_on
from crm_gateway.rpc import call

ROUTES = [Route("GET", "/exports/<id>", c.GET_EXPORT, access=SELF_SERVICE,
                summary="An export of yours: status, rows written so far, and once done its format and size.")]
blueprints = build("integration", ROUTES)
_exports = blueprints[0]
_ONE_SEGMENT = re.compile(r"^/[a-z][a-z0-9-]*$")


def _columns(contract) -> list[str]:
    items = contract.output._declared_fields["items"]
    nested = items.inner.nested
    schema = nested if isinstance(nested, type) else type(nested)
    return [f.data_key or name for name, f in schema._declared_fields.items() if not f.load_only]


@functools.lru_cache(maxsize=None)
def exportable() -> dict:
    """`leads` -> its list Route: every GET of a whole collection the other route tables serve whose contract
    pages records under a read permission (the integration service's own lists are not exported)."""
    from crm_gateway.routes import MODULES
    lists = {}
    for name in MODULES:
        for route in getattr(importlib.import_module(f"crm_gateway.routes.{name}"), "ROUTES", []):
            contract = route.contract
            if (route.method == "GET" and _ONE_SEGMENT.match(route.path) and route.access is None and not route.owners
                    and contract.permission and contract.permission[1] == "read" and contract.service != "integration"
                    and isinstance(contract.output, type) and issubclass(contract.output, Page)):
                lists.setdefault(route.path[1:], route)
    return lists


def _source(body: dict) -> dict:
    route = exportable().get(body["resource"])
    if route is None:
        raise ServiceError("validation_failed", "the request has invalid fields",
                           errors={"resource": [f"not a list this API serves: {body['resource'][:60]}"]})
    query = {k: v for k, v in body["filters"].items() if k not in ("limit", "cursor")}
    try:
        instance(route.contract.input).load(query)
    except ValidationError as exc:
        raise ServiceError("validation_failed", "the request has invalid fields",
                           errors={f"filters.{k}": v for k, v in exc.messages.items()}) from None
    contract = route.contract
    return {"service": contract.service, "method": contract.method, "permission": list(contract.permission),
            "columns": _columns(contract)}


@_exports.route("/exports", endpoint="Exports")
class Exports(MethodView):
    @_exports.arguments(instance(c.ExportIn), location="json")
    @_exports.response(202, Job, description="queued: Location names the export")
    @_exports.alt_response(403, description="your role may not read that list")
    @kept_by_service
    @requires(*SELF_SERVICE)
    def post(self, body):
        """Export every page of a list you may read (`resource`: its path, `leads`, `tickets`...), with the
        list's own filters, as NDJSON (default) or CSV: a job; its download is ready once it is done."""
        job = call("integration", c.START_EXPORT.method, {**body, "source": _source(body)}, **passed_on())
        return job, 202, {"Location": url_for(f"{_exports.name}.ExportsItem", record_id=job["id"])}


@_exports.route("/exports/<id:record_id>/download", endpoint="ExportsItemDownload")
class ExportDownload(MethodView):
    @_exports.response(200, description="the file: NDJSON (application/x-ndjson) or CSV (text/csv)")
    @_exports.alt_response(409, description="the export is not done yet")
    @requires(*SELF_SERVICE)
    def get(self, record_id):
        """The file of a finished export of yours, streamed."""
        first = call("integration", c.EXPORT_CHUNK.method, {"part": 0}, id=record_id)

        def parts():
            chunk = first
            yield chunk["data"]
            while chunk["next_part"] is not None:
                chunk = call("integration", c.EXPORT_CHUNK.method, {"part": chunk["next_part"]}, id=record_id)
                yield chunk["data"]

        extension = "csv" if first["media_type"] == "text/csv" else "ndjson"
        return Response(stream_with_context(parts()), mimetype=first["media_type"],
                        headers={"Content-Disposition": f'attachment; filename="export-{record_id}.{extension}"'})
