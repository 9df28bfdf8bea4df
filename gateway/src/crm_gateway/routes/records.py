"""Routes on every record (crm_common.records): the custom field definitions, each kept by the service that
owns its resource (`resource` of the body or query says which; a definition's id is tried at each owner)."""
import base64
import json
from urllib.parse import quote

from flask import Response, request
from flask.views import MethodView

import crm_sales_contracts as sales
import crm_service_desk_contracts as service_desk
from crm_common.contracts.records import OWNERS
from crm_common.errors import ServiceError, validation
from crm_gateway.auth import requires
from crm_gateway.conventions import Route, accepts, build
from crm_gateway.openapi import REFUSES_VALID_INPUT
from crm_gateway.rpc import call

# the services keeping custom field definitions, and their contracts (the same schemas: crm_common.contracts.records)
KEEPERS = {"sales": sales.CUSTOM_FIELDS, "service_desk": service_desk.CUSTOM_FIELDS}


def _by_resource(verb: str):
    def owners(loaded, keywords):
        service = OWNERS.get(loaded[0]["resource"]) if loaded else None
        return [getattr(KEEPERS.get(service, sales.CUSTOM_FIELDS), verb)]
    return owners


def _each_keeper(verb: str):
    def owners(loaded, keywords):
        return [getattr(contracts, verb) for contracts in KEEPERS.values()]
    return owners


DEFS = sales.CUSTOM_FIELDS
ROUTES = [
    Route("GET", "/custom-fields", DEFS.LIST, owners=_by_resource("LIST")),
    Route("POST", "/custom-fields", DEFS.CREATE, 201, owners=_by_resource("CREATE"),
          answers={409: "the resource has a custom field of this name"}),
    Route("GET", "/custom-fields/<id>", DEFS.GET, owners=_each_keeper("GET")),
    Route("PATCH", "/custom-fields/<id>", DEFS.UPDATE, owners=_each_keeper("UPDATE")),
    Route("DELETE", "/custom-fields/<id>", DEFS.DELETE, 204, owners=_each_keeper("DELETE")),
]
for _path, _comments in (("leads", sales.LEAD_COMMENTS), ("accounts", sales.ACCOUNT_COMMENTS),
                         ("contacts", sales.CONTACT_COMMENTS), ("opportunities", sales.OPPORTUNITY_COMMENTS)):
    ROUTES += [Route("GET", f"/{_path}/<id>/comments", _comments.LIST),
               Route("POST", f"/{_path}/<id>/comments", _comments.CREATE, 201, location=""),
               Route("PATCH", f"/{_path}/<id>/comments/<comment_id>", _comments.UPDATE, if_match=False),
               Route("DELETE", f"/{_path}/<id>/comments/<comment_id>", _comments.DELETE, 204)]
# the records taking files: path -> (resource, the owning service's attachment contracts); a file's own routes
# (/attachments/<id>) try each owner in turn (a 404 at one tries the next)
ATTACHED = {"leads": ("lead", sales.ATTACHMENTS), "accounts": ("account", sales.ATTACHMENTS),
            "contacts": ("contact", sales.ATTACHMENTS), "opportunities": ("opportunity", sales.ATTACHMENTS),
            "quotes": ("quote", sales.ATTACHMENTS), "contracts": ("contract", sales.ATTACHMENTS),
            "tickets": ("ticket", service_desk.ATTACHMENTS)}
FILE_KEEPERS = (sales.ATTACHMENTS, service_desk.ATTACHMENTS)
for _path, (_resource, _files) in ATTACHED.items():
    ROUTES.append(Route("GET", f"/{_path}/<id>/attachments", _files.by_resource[_resource].LIST))
ROUTES.append(Route("DELETE", "/attachments/<id>", sales.ATTACHMENTS.DELETE, 204,
                    owners=lambda loaded, keywords: [files.DELETE for files in FILE_KEEPERS]))
# generated documents kept as files (of the quote or contract, or of its opportunity: `attach_to`)
ROUTES += [Route("POST", "/quotes/<id>/document/attachments", sales.KEEP_QUOTE_DOCUMENT, 201,
                 location="/attachments/{id}/content"),
           Route("POST", "/contracts/<id>/document/attachments", sales.KEEP_CONTRACT_DOCUMENT, 201,
                 location="/attachments/{id}/content")]
blueprints = build("records", ROUTES)
_blueprint = {blp.name: blp for blp in blueprints}


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}}}}
UPLOAD_REFUSAL = {"description": "Unprocessable Entity: refused by a rule the schema cannot state: the file's bytes "
                                 "are of a type the server keeps and that its name's extension says; within the "
                                 "size limits per file and per record.",
                  "content": {"application/problem+json": {"schema": "Problem"}}, REFUSES_VALID_INPUT: True}


# Hand-written: an upload is multipart/form-data (`file`), a download the file's bytes (the service carries them
# base64-encoded in its answer); the record's scope is the service's to enforce (404).
def _upload_view(path: str, resource: str, files):
    blp = _blueprint[f"records_{path}"]
    contract = files.by_resource[resource].UPLOAD

    @blp.doc(requestBody=UPLOAD_BODY, responses={422: UPLOAD_REFUSAL})
    @accepts("multipart/form-data")
    @requires(*contract.permission)
    def post(self, record_id):
        """Attach a file (multipart `file`): its type is read from the bytes and must match its name."""
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise validation({"file": ["send the file as the multipart field `file`"]})
        data = upload.read()
        made = call(contract.service, contract.method, {"filename": upload.filename,
                                               "content_base64": base64.b64encode(data).decode()}, id=record_id)
        return Response(_json(made), status=201, mimetype="application/json",
                        headers={"Location": f"{request.script_root}/api/v1/attachments/{made['id']}/content"})

    view = type(f"{path.title()}ItemAttachmentsUpload", (MethodView,), {"post": post})
    blp.route(f"/{path}/<id:record_id>/attachments", endpoint=view.__name__, methods=["POST"])(view)


def _json(data) -> str:
    return json.dumps(data, separators=(",", ":"), default=str)


for _path, (_resource, _files) in ATTACHED.items():
    _upload_view(_path, _resource, _files)


def _content(record_id: str) -> dict:
    """The file from whichever service keeps it (404 when none does, or none lets the caller read it)."""
    for position, files in enumerate(FILE_KEEPERS):
        try:
            return call(files.CONTENT.service, files.CONTENT.method, id=record_id)
        except ServiceError as exc:
            if exc.code != "not_found" or position == len(FILE_KEEPERS) - 1:
                raise
    raise ServiceError("not_found", "attachment not found")


@_blueprint["records_attachments"].route("/attachments/<id:record_id>/content", endpoint="AttachmentsItemContent")
class AttachmentContent(MethodView):
    @requires(*sales.ATTACHMENTS.CONTENT.permission)  # the service answers 404 unless the caller may read the record
    def get(self, record_id):
        """The file, as an attachment, for a caller who may read its record (404 otherwise)."""
        found = _content(record_id)
        name = found["filename"]
        ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
        return Response(base64.b64decode(found["content_base64"]), status=200, mimetype=found["content_type"],
                        headers={"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; "
                                                        f"filename*=UTF-8''{quote(name)}",
                                 "X-Content-Type-Options": "nosniff"})


# Hand-written: the quote's Word document is a file, not JSON (the service sends it base64-encoded).
@_blueprint["records_quotes"].route("/quotes/<id:record_id>/document", endpoint="QuotesItemDocument")
class QuoteDocument(MethodView):
    @_blueprint["records_quotes"].response(200, content_type=DOCX,
                                           description="the .docx file")
    @requires(*sales.QUOTE_DOCUMENT.permission)
    def get(self, record_id):
        """The quote as a Word document (customer, lines, totals, validity)."""
        document = call("sales", sales.QUOTE_DOCUMENT.method, id=record_id)
        return Response(base64.b64decode(document["content_base64"]), status=200, mimetype=document["content_type"],
                        headers={"Content-Disposition": f'attachment; filename="{document["filename"]}"'})
