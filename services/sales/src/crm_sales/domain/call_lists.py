"""Telemarketing call lists: the contacts to call (do-not-call and phoneless ones skipped), calls logged."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

import crm_sales_contracts as c
from crm_common import scope
from crm_common.errors import ServiceError, validation
from crm_sales.domain import records, users
from crm_sales.domain.activities import event_data, follow_up
from crm_sales.models import Account, Activity, CallList, Contact

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

get = records.reader("call_list", CallList)
page = records.lister("call_list", CallList, c.CallListFilters.SORTABLE)


def create(ctx: Context, data: dict) -> CallList:
    """A call list of the contacts named and the account's; those who must not be called or have no phone are
    skipped (and listed so)."""
    session, actor = ctx.session, ctx.caller
    owner_id = data.get("owner_id") or actor.user_id
    if owner_id != actor.user_id and not actor.can("call_list", "assign"):
        raise validation({"owner_id": ["your role may not assign call lists"]})
    ids = list(dict.fromkeys(data.get("contact_ids") or []))
    if data.get("account_id"):
        records.load(ctx, "account", Account, data["account_id"], what="account")
        ids += [cid for cid in session.execute(select(Contact.id).where(
            Contact.account_id == data["account_id"], Contact.deleted_at.is_(None)).order_by(Contact.last_name))
            .scalars() if cid not in ids]
    if not ids:
        raise validation({"contact_ids": ["name contacts or an account"]})
    items, skipped = [], []
    for cid in ids:
        contact = session.get(Contact, cid)
        if contact is None or contact.deleted_at is not None or not scope.allows(actor, "contact", "read", contact):
            raise validation({"contact_ids": [f"unknown contact {cid}"]})
        if contact.do_not_call:
            skipped.append({"contact_id": cid, "reason": "do_not_call"})
        elif not contact.phone:
            skipped.append({"contact_id": cid, "reason": "no_phone"})
        else:
            items.append({"contact_id": cid, "status": "pending", "outcome": None, "activity_id": None})
    call_list = CallList(name=data["name"], items=items, skipped=skipped, owner_id=owner_id,
                         team_id=users.team_of(session, owner_id, actor))
    session.add(call_list)
    session.flush()
    records.changed(ctx, "call_list", call_list.id, "create")
    return call_list


def log_call(ctx: Context, record_id: str, data: dict) -> CallList:
    """The rep called someone on the list: a call activity with its outcome; the item is done."""
    session, actor = ctx.session, ctx.caller
    call_list = records.load(ctx, "call_list", CallList, record_id, "update")
    items = [dict(x) for x in call_list.items]
    item = next((x for x in items if x["contact_id"] == data["contact_id"]), None)
    if item is None:
        raise validation({"contact_id": ["not on this call list (or skipped: do not call)"]})
    contact = session.get(Contact, data["contact_id"])
    if contact.do_not_call:  # marked after the list was made
        raise ServiceError("conflict", "this contact must not be called")
    call = Activity(type="call", subject=f"{call_list.name}: {contact.first_name or ''} {contact.last_name or ''}"
                    .strip()[:300], description=data.get("description"), owner_id=actor.user_id or call_list.owner_id,
                    team_id=call_list.team_id, participant_ids=[actor.user_id] if actor.user_id else [],
                    contact_id=contact.id, account_id=contact.account_id, call_list_id=call_list.id, status="done",
                    outcome=data["outcome"], duration_seconds=data.get("duration_seconds") or 0,
                    callback_at=data.get("callback_at"))
    session.add(call)
    session.flush()
    ctx.emit(c.ACTIVITY_LOGGED, event_data(call))
    if call.callback_at:
        follow_up(ctx, call)
    item.update(status="called", outcome=data["outcome"], activity_id=call.id)
    call_list.items = items
    session.flush()
    records.changed(ctx, "call_list", call_list.id, "update", ("items",))
    return call_list
