"""Bulk exports: any list a caller may read, every page of it over the caller's scope, as NDJSON or CSV, built
as a job (progress: rows written) and downloaded once done. The gateway names the list (the resource's list
method, its permission and its columns); the integration service calls that list as the caller, page by page."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import Job, Strict

FORMATS = ("ndjson", "csv")
RESOURCE_PATTERN = r"^[a-z][a-z0-9-]{0,62}$"
NAME_PATTERN = r"^[a-z_]{1,60}$"
RESOURCE_RULE = "resource is the path of a list the gateway serves (`leads`, `accounts`, `tickets`...)"
FILTERS_RULE = "filters are the list's own query parameters (not limit or cursor), checked as the list checks them"


class ExportIn(Strict):
    """What a client asks: which list, in which format, with the list's own filters."""

    RULES = (RESOURCE_RULE, FILTERS_RULE)

    resource = fields.String(required=True, validate=validate.Regexp(RESOURCE_PATTERN))
    format = fields.String(load_default="ndjson", validate=validate.OneOf(FORMATS))
    filters = fields.Dict(keys=fields.String(validate=validate.Length(max=60)), load_default=dict,
                          validate=validate.Length(max=30))


class ExportSource(Strict):
    """The list the gateway resolved the resource to: its RPC method and the permission it declares."""

    service = fields.String(required=True, validate=validate.Regexp(NAME_PATTERN))
    method = fields.String(required=True, validate=validate.Regexp(r"^list_[a-z_]{1,60}$"))
    permission = fields.List(fields.String(validate=validate.Regexp(NAME_PATTERN)), required=True,
                             validate=validate.Length(equal=2))
    columns = fields.List(fields.String(validate=validate.Length(max=100)), required=True,
                          validate=validate.Length(min=1, max=300))


class StartExport(ExportIn):
    source = fields.Nested(ExportSource, required=True)


class ChunkQuery(Strict):
    part = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0))


class Chunk(Schema):
    data = fields.String(required=True)
    next_part = fields.Integer(allow_none=True, metadata={"description": "the next part, null after the last"})
    media_type = fields.String(required=True)


class ExportData(Schema):
    id = fields.String(required=True)
    resource = fields.String(required=True)
    format = fields.String(required=True)
    rows = fields.Integer(required=True)
    owner_id = fields.String(allow_none=True)


# identity's audit trail takes every event: an export is recorded there (who, which list, how many rows)
EXPORT_COMPLETED = event("integration", "export_completed", 1, ExportData,
                         "A bulk export finished: its rows are ready for its owner to download.",
                         entity="export", action="export")

START_EXPORT = rpc("integration", "start_export", StartExport, Job,
                   description="Queue an export of a list the caller may read (the caller's scope applies).")
GET_EXPORT = rpc("integration", "get_export", None, Job, record=True,
                 description="An export of the caller's: status, rows written so far, the result once done.")
EXPORT_CHUNK = rpc("integration", "export_chunk", ChunkQuery, Chunk, record=True,
                   description="One part of a finished export's file (the gateway streams them in order).")
