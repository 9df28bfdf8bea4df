"""Warranties and service contracts: which contract entitles a new ticket, and the hours it consumed."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from crm_service_desk.models import ServiceContract, TimeLog

HOURS = Decimal("0.01")


def find_contract(session: Session, account_id: str | None, product_id: str | None,
                  on: date) -> ServiceContract | None:
    """The account's contract in force on `on` with hours left, for the ticket's product (a contract
    naming the product wins over one for every product; then the one ending last)."""
    if not account_id:
        return None
    query = select(ServiceContract).where(
        ServiceContract.account_id == account_id, ServiceContract.deleted_at.is_(None),
        ServiceContract.starts_on <= on, ServiceContract.ends_on >= on)
    if product_id:
        query = query.where(or_(ServiceContract.product_id == product_id, ServiceContract.product_id.is_(None)))
    else:
        query = query.where(ServiceContract.product_id.is_(None))
    candidates = [c for c in session.execute(query).scalars() if c.status_on(on) == "active"]
    candidates.sort(key=lambda c: (c.product_id is None, -c.ends_on.toordinal(), c.id))
    return candidates[0] if candidates else None


def recount_hours(session: Session, contract_id: str) -> None:
    """consumed_hours = the minutes logged against the contract, in hours (recomputed, never drifting)."""
    contract = session.get(ServiceContract, contract_id)
    if contract is None:
        return
    minutes = session.execute(select(func.coalesce(func.sum(TimeLog.minutes), 0))
                              .where(TimeLog.service_contract_id == contract_id)).scalar_one()
    contract.consumed_hours = (Decimal(int(minutes)) / Decimal(60)).quantize(HOURS)
