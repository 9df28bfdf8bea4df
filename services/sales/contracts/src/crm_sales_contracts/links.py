"""The link of a sales record to its id in another system (ERP, e-commerce): shown as `external_ids` on
accounts, contacts, products and orders (upserts by external id, crm_sales_contracts.external_ids)."""
from __future__ import annotations

from marshmallow import Schema, fields


class ExternalLink(Schema):
    system = fields.String(required=True)
    external_id = fields.String(required=True)


def external_ids_field():
    return fields.List(fields.Nested(ExternalLink), dump_only=True,
                       metadata={"description": "the ids other systems give this record (upserts by external id)"})
