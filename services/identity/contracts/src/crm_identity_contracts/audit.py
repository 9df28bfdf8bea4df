"""The audit trail of the whole suite: one entry per audited change of any service."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Sort, Timestamp
from crm_common.contracts.registry import rpc
from crm_common.contracts.schemas import ListQuery, page


class AuditEntrySchema(Schema):
    id = fields.String(required=True)
    event_id = fields.String(allow_none=True)
    event_type = fields.String(required=True)
    actor_id = fields.String(allow_none=True)
    actor_kind = fields.String(allow_none=True)
    api_key_id = fields.String(allow_none=True, metadata={"description": "the API key that made the change"})
    action = fields.String(required=True)
    entity_type = fields.String(required=True)
    entity_id = fields.String(allow_none=True)
    changed_fields = fields.List(fields.String(), required=True)
    request_id = fields.String(allow_none=True)
    client_ip = fields.String(allow_none=True)
    producer = fields.String(allow_none=True)
    occurred_at = Timestamp(required=True)


# `from` is a Python keyword: the field is named in the class's namespace, so that the loaded query keeps the
# key the client sent (the gateway forwards the loaded query, the service loads it again)
AuditListArgs = type("AuditListArgs", (ListQuery,), {
    "SORTABLE": ("occurred_at",),
    "sort": Sort(load_default="-occurred_at"),
    "entity_type": fields.String(validate=validate.Length(max=60)),
    "entity_id": fields.String(validate=validate.Length(max=64)),
    "actor_id": fields.String(validate=validate.Length(max=64)),
    "api_key_id": fields.String(validate=validate.Length(max=36),
                                metadata={"description": "what one integration (its API key) did"}),
    "action": fields.String(validate=validate.Length(max=60)),
    "request_id": fields.String(validate=validate.Length(max=128)),
    "from": Timestamp(),
    "to": Timestamp(),
})

AuditPage = page(AuditEntrySchema, "AuditPage")

LIST_AUDIT = rpc("identity", "list_audit", AuditListArgs, AuditPage, permission=("audit", "read"))
