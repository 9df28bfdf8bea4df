"""Contacts: people at accounts; do-not-call; merging duplicates keeps their history."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import update as sql_update

import crm_sales_contracts as c
from crm_common.db import utcnow
from crm_common.errors import ServiceError, validation
from crm_sales.domain import checks, records, users
from crm_sales.models import Account, Activity, Contact, Opportunity

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

EDITABLE = ("account_id", "first_name", "last_name", "email", "phone", "title", "owner_id", "do_not_call", "country",
            "custom_fields", "tags")
SEARCH = (Contact.first_name, Contact.last_name, Contact.email)
get = records.reader("contact", Contact)
page = records.lister("contact", Contact, c.ContactFilters.SORTABLE, SEARCH)
delete = records.deleter("contact", Contact)


def event_data(contact: Contact) -> dict:
    return {"id": contact.id, "account_id": contact.account_id, "first_name": contact.first_name,
            "last_name": contact.last_name, "email": contact.email, "phone": contact.phone,
            "owner_id": contact.owner_id, "do_not_call": bool(contact.do_not_call), "title": contact.title,
            "custom_fields": dict(contact.custom_fields or {}), "tags": list(contact.tags or [])}


def _account(ctx: Context, account_id: str | None) -> Account | None:
    if not account_id:
        return None
    return records.load(ctx, "account", Account, account_id, what="account")


def create(ctx: Context, data: dict) -> Contact:
    """A new contact, at an account or not."""
    return _create(ctx, data, check_owner=True, lead_id=None)


def create_from_lead(ctx: Context, data: dict, lead_id: str) -> Contact:
    """The contact of a converted lead: it keeps the lead's owner and names the lead."""
    return _create(ctx, data, check_owner=False, lead_id=lead_id)


def _create(ctx: Context, data: dict, check_owner: bool, lead_id: str | None) -> Contact:
    session, actor = ctx.session, ctx.caller
    if not actor.can("contact", "create"):
        raise ServiceError("forbidden", "your role may not create contacts")
    data = dict(data)
    owner_id = data.get("owner_id") or actor.user_id
    if check_owner and owner_id != actor.user_id and not actor.can("contact", "assign"):
        raise validation({"owner_id": ["your role may not give a contact to someone else"]})
    account = _account(ctx, data.get("account_id"))
    checks.contact_fields(data, data.get("country") or (account.country if account else None))
    contact = Contact(**{k: data.get(k) for k in EDITABLE if k not in ("owner_id", "do_not_call")})
    contact.do_not_call = bool(data.get("do_not_call"))
    contact.owner_id, contact.lead_id = owner_id, lead_id
    contact.team_id = users.team_of(session, owner_id, actor)
    contact.territory_id = account.territory_id if account else None
    session.add(contact)
    session.flush()
    ctx.emit(c.CONTACT_CREATED, event_data(contact))
    return contact


def update(ctx: Context, record_id: str, data: dict, expected_version: int | None = None) -> Contact:
    session, actor = ctx.session, ctx.caller
    contact = records.load_for_update(ctx, "contact", Contact, record_id, expected_version)
    if contact.merged_into_id:
        raise ServiceError("conflict", "this contact was merged into another")
    if "owner_id" in data and data["owner_id"] != contact.owner_id and not actor.can("contact", "assign"):
        raise validation({"owner_id": ["your role may not give a contact to someone else"]})
    if data.get("last_name", "x") is None:
        raise validation({"last_name": ["a contact needs a last name"]})
    account = _account(ctx, data["account_id"]) if data.get("account_id") else None
    checks.contact_fields(data, contact.country)
    changed = records.apply(contact, data, EDITABLE)
    if "account_id" in changed:
        contact.territory_id = account.territory_id if account else None
    if "owner_id" in changed:
        contact.team_id = users.team_of(session, contact.owner_id, actor)
    if changed:
        session.flush()
        ctx.emit(c.CONTACT_UPDATED, {**event_data(contact), "changed_fields": changed})
    return contact


def merge(ctx: Context, record_id: str, data: dict) -> Contact:
    """Fold duplicates (`merge_ids`) into this contact: their activities and deals move; they stay, marked."""
    session = ctx.session
    survivor = records.load(ctx, "contact", Contact, record_id, "update")
    merged = []
    for other_id in dict.fromkeys(data["merge_ids"]):
        if other_id == survivor.id:
            raise validation({"merge_ids": ["a contact cannot be merged into itself"]})
        other = records.load(ctx, "contact", Contact, other_id, "update")
        if other.merged_into_id:
            raise ServiceError("conflict", f"contact {other_id} is already merged")
        for model in (Activity, Opportunity):
            session.execute(sql_update(model).where(model.contact_id == other.id).values(contact_id=survivor.id)
                            .execution_options(synchronize_session=False))
        for name in ("first_name", "email", "phone", "title", "account_id", "country"):
            if getattr(survivor, name) is None and getattr(other, name) is not None:
                setattr(survivor, name, getattr(other, name))
        survivor.do_not_call = bool(survivor.do_not_call or other.do_not_call)
        other.merged_into_id, other.deleted_at = survivor.id, utcnow()
        merged.append(other.id)
    session.flush()
    ctx.emit(c.CONTACT_MERGED, {**event_data(survivor), "merged_ids": merged})
    return survivor
