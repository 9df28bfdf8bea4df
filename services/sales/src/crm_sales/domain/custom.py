"""Custom fields on leads, accounts, contacts and opportunities (crm_common.records): the create and update
wrappers of each, and the definitions' RPCs."""
from __future__ import annotations

import crm_sales_contracts as c
from crm_common.records import adopt
from crm_common.records import definitions as defs
from crm_sales.domain import records
from crm_sales.models import Base

OWNED = ("lead", "account", "contact", "opportunity")
definitions = defs.functions(Base.metadata, OWNED, c.RECORD_CHANGED)


def creating(resource: str, model, create):
    return adopt.creating(Base.metadata, resource, model, create)


def updating(resource: str, model, update):
    return adopt.updating(Base.metadata, resource, model, update,
                          lambda ctx, record_id: records.load(ctx, resource, model, record_id, "update"))
