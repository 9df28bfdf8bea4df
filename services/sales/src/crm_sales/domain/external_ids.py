"""Upserts by external id: another system (ERP, e-commerce) names a record by its own id; the first PUT
creates the record and links it (`external_ids`), the next ones update the linked record. Creating and
updating run the resource's own rules (duplicates, owner, scope, events), as for the UI.

Two PUTs of one key at once end with one record: on PostgreSQL the key is locked for the transaction
(`pg_advisory_xact_lock`), so the second finds the first's link; elsewhere the unique link makes the second
a 409, and its retry an update.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
import re

from sqlalchemy import select

from crm_common.context import Context
from crm_common.db import serialize_on
from crm_common.errors import forbidden, validation
from crm_sales_contracts.external_ids import EXTERNAL_ID_PATTERN, SYSTEM_PATTERN, UPSERT_FIELDS
from crm_sales.domain import accounts, contacts, orders, products
from crm_sales.models import ExternalId

RESOURCES = {"account": accounts, "contact": contacts, "product": products, "order": orders}


def links_of(session, resource: str, record_id: str) -> list[dict]:
    rows = session.scalars(select(ExternalId).where(ExternalId.resource == resource, ExternalId.record_id == record_id)
                           .order_by(ExternalId.system, ExternalId.external_id))
    return [{"system": r.system, "external_id": r.external_id} for r in rows]


def links_by_record(session, resource: str, record_ids: list[str]) -> dict[str, list[dict]]:
    """Every record's links, by record id (one query for a page of records)."""
    found: dict[str, list[dict]] = {record_id: [] for record_id in record_ids}
    if record_ids:
        rows = session.scalars(select(ExternalId).where(ExternalId.resource == resource,
                                                        ExternalId.record_id.in_(record_ids))
                               .order_by(ExternalId.system, ExternalId.external_id))
        for r in rows:
            found[r.record_id].append({"system": r.system, "external_id": r.external_id})
    return found


def _record_id(item):
    return item["id"] if isinstance(item, Mapping) else item.id


def _shown(item, links: list[dict]):
    if isinstance(item, Mapping):
        return {**item, "external_ids": links}
    item.external_ids = links  # for the dump only (not a column)
    return item


def showing_links(resource: str, read):
    """`read` (a get or a page of `resource`) whose records carry their `external_ids`."""
    @functools.wraps(read)
    def shown(ctx: Context, *args, **options):
        answer = read(ctx, *args, **options)
        items = answer["items"] if isinstance(answer, dict) and "items" in answer else [answer]
        if not items or items[0] is None:
            return answer
        links = links_by_record(ctx.session, resource, [_record_id(item) for item in items])
        items = [_shown(item, links[_record_id(item)]) for item in items]
        return {**answer, "items": items} if isinstance(answer, dict) and "items" in answer else items[0]
    return shown


def _lock(session, resource: str, system: str, external_id: str) -> None:
    serialize_on(session, f"external-id:{resource}\x1f{system}\x1f{external_id}")


NAME_RULES = {"system": (SYSTEM_PATTERN, "1 to 64 letters, digits, _ . : -"),
              "external_id": (EXTERNAL_ID_PATTERN, "1 to 200 letters, digits, spaces and _ . : @ # / + = -")}


def check_names(**names) -> None:
    """`system=` and/or `external_id=` against the contract's patterns, whole strings: a 422 naming each bad one."""
    errors = {name: [NAME_RULES[name][1]] for name, value in names.items()
              if not isinstance(value, str) or not re.fullmatch(NAME_RULES[name][0], value)}
    if errors:
        raise validation(errors)


def upsert(ctx: Context, resource: str, system: str, external_id: str, data: dict) -> dict:
    """The record's fields (dumped by the contract), `created` and its `external_ids`."""
    check_names(system=system, external_id=external_id)
    domain = RESOURCES[resource]
    session = ctx.session
    _lock(session, resource, system, external_id)
    link = session.scalar(select(ExternalId).where(ExternalId.resource == resource, ExternalId.system == system,
                                                   ExternalId.external_id == external_id))
    if link is not None:
        if not ctx.caller.can(resource, "update"):
            raise forbidden(f"your role may not update {resource} records")
        record = domain.update(ctx, link.record_id, {k: v for k, v in data.items() if k in UPSERT_FIELDS[resource]})
        created = False
    else:
        record = domain.create(ctx, data)
        session.add(ExternalId(resource=resource, system=system, external_id=external_id, record_id=record.id))
        session.flush()
        created = True
    record.created, record.external_ids = created, links_of(session, resource, record.id)  # for the dump only
    return record


def upsert_account(ctx: Context, data: dict, system: str, external_id: str):
    return upsert(ctx, "account", system, external_id, data)


def upsert_contact(ctx: Context, data: dict, system: str, external_id: str):
    return upsert(ctx, "contact", system, external_id, data)


def upsert_product(ctx: Context, data: dict, system: str, external_id: str):
    return upsert(ctx, "product", system, external_id, data)


def upsert_order(ctx: Context, data: dict, system: str, external_id: str):
    return upsert(ctx, "order", system, external_id, data)
