"""Accounts: territory, owner and parent; grade from value thresholds; lifecycle from orders; merging."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select, update as sql_update

import crm_sales_contracts as c
from crm_common.context import Actor
from crm_common.db import utcnow
from crm_common.errors import ServiceError, validation
from crm_sales.domain import assignment, checks, records, settings, users
from crm_sales.models import Account, Activity, Contact, Opportunity, Order, Quote, SalesContract

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

EDITABLE = ("name", "industry", "size", "employees", "website", "phone", "street", "city", "postal_code",
            "region", "country", "owner_id", "territory_id", "parent_id", "lifecycle_stage", "custom_fields", "tags")
SEARCH = (Account.name, Account.website, Account.city)
get = records.reader("account", Account)
page = records.lister("account", Account, c.AccountFilters.SORTABLE, SEARCH)
delete = records.deleter("account", Account)


def event_data(account: Account) -> dict:
    return {"id": account.id, "name": account.name, "industry": account.industry, "country": account.country,
            "owner_id": account.owner_id, "territory_id": account.territory_id, "grade": account.grade,
            "lifecycle_stage": account.lifecycle_stage, "parent_id": account.parent_id,
            "custom_fields": dict(account.custom_fields or {}), "tags": list(account.tags or [])}


def grade_for(session, total_value: Decimal) -> str:
    thresholds = settings.get(session, "grade_thresholds")
    if total_value >= Decimal(str(thresholds["A"])):
        return "A"
    if total_value >= Decimal(str(thresholds["B"])):
        return "B"
    return "C"


def lifecycle_for(session, order_count: int, last_order_at: datetime | None, now: datetime | None = None) -> str:
    if order_count <= 0:
        return "prospect"
    now = now or utcnow()
    if last_order_at and now - last_order_at > timedelta(days=settings.get(session, "churn_after_days")):
        return "churned"
    if order_count >= settings.get(session, "loyal_after_orders"):
        return "loyal"
    return "first_purchase" if order_count == 1 else "repeat"


def _check_parent(ctx: Context, account: Account | None, parent_id: str | None) -> None:
    if not parent_id:
        return
    session = ctx.session
    parent = records.load(ctx, "account", Account, parent_id, what="parent account")
    seen = {account.id} if account is not None else set()
    while parent is not None:
        if parent.id in seen:
            raise validation({"parent_id": ["an account cannot be its own ancestor"]})
        seen.add(parent.id)
        parent = session.get(Account, parent.parent_id) if parent.parent_id else None


def _owner(actor: Actor, owner_id: str | None, resource: str) -> str | None:
    if owner_id and owner_id != actor.user_id and not actor.can(resource, "assign"):
        raise validation({"owner_id": [f"your role may not give a {resource} to someone else"]})
    return owner_id or actor.user_id


def create(ctx: Context, data: dict) -> Account:
    """A new account (in the territory its country and industry give, unless named)."""
    return _create(ctx, data, check_owner=True)


def create_from_lead(ctx: Context, data: dict) -> Account:
    """The account of a converted lead: it keeps the lead's owner."""
    return _create(ctx, data, check_owner=False)


def _create(ctx: Context, data: dict, check_owner: bool) -> Account:
    session, actor = ctx.session, ctx.caller
    if not actor.can("account", "create"):
        raise ServiceError("forbidden", "your role may not create accounts")
    data = dict(data)
    owner_id = _owner(actor, data.get("owner_id"), "account") if check_owner else data.get("owner_id")
    checks.contact_fields(data)
    _check_parent(ctx, None, data.get("parent_id"))
    territory_id = data.get("territory_id")
    if territory_id is None:
        territory = assignment.territory_for(session, data.get("country"), data.get("industry"))
        territory_id = territory.id if territory else None
    account = Account(**{k: data.get(k) for k in EDITABLE if k not in ("owner_id", "territory_id",
                                                                        "lifecycle_stage")})
    account.name_key = checks.key(account.name) or account.name.lower()
    account.owner_id, account.territory_id = owner_id, territory_id
    account.team_id = users.team_of(session, owner_id, actor)
    account.total_value, account.order_count = Decimal("0.00"), 0
    account.grade, account.lifecycle_stage = grade_for(session, Decimal("0")), "prospect"
    session.add(account)
    session.flush()
    ctx.emit(c.ACCOUNT_CREATED, event_data(account))
    return account


def update(ctx: Context, record_id: str, data: dict, expected_version: int | None = None) -> Account:
    session, actor = ctx.session, ctx.caller
    account = records.load_for_update(ctx, "account", Account, record_id, expected_version)
    if account.merged_into_id:
        raise ServiceError("conflict", "this account was merged into another", extra={"merged_into_id":
                                                                                      account.merged_into_id})
    if "owner_id" in data and data["owner_id"] != account.owner_id:
        _owner(actor, data["owner_id"], "account")
    if "parent_id" in data:
        _check_parent(ctx, account, data["parent_id"])
    checks.contact_fields(data, account.country)
    changed = records.apply(account, data, EDITABLE)
    if "name" in changed:
        account.name_key = checks.key(account.name) or account.name.lower()
    if "owner_id" in changed:
        account.team_id = users.team_of(session, account.owner_id, actor)
    if changed:
        session.flush()
        ctx.emit(c.ACCOUNT_UPDATED, {**event_data(account), "changed_fields": changed})
    return account


def apply_order(ctx: Context, account: Account, amount: Decimal, when: datetime | None = None) -> None:
    """An order placed (amount > 0) or cancelled (amount < 0): value, grade and lifecycle follow."""
    session = ctx.session
    before = (account.grade, account.lifecycle_stage)
    account.total_value = (account.total_value or Decimal("0")) + amount
    account.order_count = max(0, (account.order_count or 0) + (1 if amount > 0 else -1))
    if amount > 0:
        account.last_order_at = when or utcnow()
    account.grade = grade_for(session, account.total_value)
    account.lifecycle_stage = lifecycle_for(session, account.order_count, account.last_order_at)
    changed = [name for name, old, new in (("grade", before[0], account.grade),
                                           ("lifecycle_stage", before[1], account.lifecycle_stage)) if old != new]
    session.flush()
    if changed:
        ctx.emit(c.ACCOUNT_UPDATED, {**event_data(account), "changed_fields": changed + ["total_value"]})


def mark_churned(ctx: Context, now: datetime | None = None) -> int:
    """Accounts whose last order is older than the churn period become churned (a timer runs this)."""
    session = ctx.session
    cutoff = (now or utcnow()) - timedelta(days=settings.get(session, "churn_after_days"))
    count = 0
    for account in session.execute(select(Account).where(
            Account.last_order_at < cutoff, Account.lifecycle_stage != "churned",
            Account.deleted_at.is_(None))).scalars():
        account.lifecycle_stage = "churned"
        session.flush()
        ctx.emit(c.ACCOUNT_UPDATED, {**event_data(account), "changed_fields": ["lifecycle_stage"]})
        count += 1
    return count


MOVED = ((Contact, "account_id"), (Opportunity, "account_id"), (Quote, "account_id"), (Order, "account_id"),
         (SalesContract, "account_id"), (Activity, "account_id"), (Account, "parent_id"))


def merge(ctx: Context, record_id: str, data: dict) -> Account:
    """Fold duplicates (`merge_ids`) into this account: their contacts, deals, orders, activities move; they stay,
    marked."""
    session = ctx.session
    survivor = records.load(ctx, "account", Account, record_id, "update")
    merged = []
    for other_id in dict.fromkeys(data["merge_ids"]):
        if other_id == survivor.id:
            raise validation({"merge_ids": ["an account cannot be merged into itself"]})
        other = records.load(ctx, "account", Account, other_id, "update")
        if other.merged_into_id:
            raise ServiceError("conflict", f"account {other_id} is already merged")
        for model, column in MOVED:
            session.execute(sql_update(model).where(getattr(model, column) == other.id)
                            .values({column: survivor.id}).execution_options(synchronize_session=False))
        survivor.total_value += other.total_value or Decimal("0")
        survivor.order_count += other.order_count or 0
        if other.last_order_at and (not survivor.last_order_at or other.last_order_at > survivor.last_order_at):
            survivor.last_order_at = other.last_order_at
        for name in ("industry", "website", "phone", "street", "city", "postal_code", "region", "country", "size",
                     "employees"):
            if getattr(survivor, name) is None and getattr(other, name) is not None:
                setattr(survivor, name, getattr(other, name))
        other.merged_into_id, other.deleted_at = survivor.id, utcnow()
        merged.append(other.id)
    survivor.grade = grade_for(session, survivor.total_value)
    survivor.lifecycle_stage = lifecycle_for(session, survivor.order_count, survivor.last_order_at)
    session.flush()
    session.expire_all()
    survivor = session.get(Account, record_id)
    if survivor.parent_id == survivor.id:  # it was a child of a merged duplicate
        survivor.parent_id = None
        session.flush()
    ctx.emit(c.ACCOUNT_MERGED, {**event_data(survivor), "merged_ids": merged})
    return survivor
