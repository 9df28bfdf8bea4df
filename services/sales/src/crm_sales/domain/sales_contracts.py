"""Sales contracts: from orders or opportunities; statuses; renewal reminders; the .docx document."""
from __future__ import annotations

import base64
import io
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select

import crm_sales_contracts as c
from crm_common import config
from crm_common.db import utcnow
from crm_common.errors import ServiceError, validation
from crm_sales.domain import activities, records, settings, users
from crm_sales.models import Account, Activity, Opportunity, Order, SalesContract

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

FLOW = {"draft": ("signed", "terminated"), "signed": ("active", "terminated"), "active": ("expired", "terminated"),
        "expired": (), "terminated": ()}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
get = records.reader("contract", SalesContract)
page = records.lister("contract", SalesContract, c.ContractFilters.SORTABLE)


def event_data(contract: SalesContract) -> dict:
    return {"id": contract.id, "account_id": contract.account_id, "order_id": contract.order_id,
            "opportunity_id": contract.opportunity_id, "status": contract.status,
            "starts_on": contract.starts_on.isoformat(), "ends_on": contract.ends_on.isoformat(),
            "value": str(contract.value), "currency": contract.currency}


def _check_dates(starts_on: date, ends_on: date) -> None:
    if ends_on <= starts_on:
        raise validation({"ends_on": ["ends after it starts"]})


def create(ctx: Context, data: dict) -> SalesContract:
    """A draft contract from an order or an opportunity (its value, currency and lines), or for an account."""
    session, actor = ctx.session, ctx.caller
    _check_dates(data["starts_on"], data["ends_on"])
    if not data.get("order_id") and not data.get("opportunity_id") and not data.get("account_id"):
        raise validation({"order_id": ["a contract comes from an order_id or an opportunity_id (or names an "
                                       "account_id)"]})
    order = opportunity = None
    if data.get("order_id"):
        order = records.load(ctx, "order", Order, data["order_id"], what="order")
    if data.get("opportunity_id"):
        opportunity = records.load(ctx, "opportunity", Opportunity, data["opportunity_id"], what="opportunity")
    account_id = data.get("account_id") or (order.account_id if order else None) or (
        opportunity.account_id if opportunity else None)
    account = records.load(ctx, "account", Account, account_id, what="account") if account_id else None
    value = data.get("value")
    if value is None:
        value = order.total if order else (opportunity.amount if opportunity else None)
    currency = data.get("currency") or (order.currency if order else (opportunity.currency if opportunity else None))
    if value is None or currency is None:
        raise validation({"value": ["give value and currency, or an order or opportunity to take them from"]})
    source = order or opportunity
    contract = SalesContract(account_id=account.id if account else None, order_id=order.id if order else None,
                             opportunity_id=opportunity.id if opportunity else None, status="draft",
                             starts_on=data["starts_on"], ends_on=data["ends_on"], value=Decimal(value),
                             currency=currency, terms=data.get("terms"), lines=list(order.lines) if order else [],
                             renewal_notice_days=data.get("renewal_notice_days"))
    contract.owner_id = (source.owner_id if source else None) or actor.user_id
    contract.team_id = users.team_of(session, contract.owner_id, actor)
    contract.territory_id = account.territory_id if account else None
    session.add(contract)
    session.flush()
    records.changed(ctx, "contract", contract.id, "create")
    return contract


def update(ctx: Context, record_id: str, data: dict, expected_version: int | None = None) -> SalesContract:
    """Change a draft's dates and terms; move the status along its flow (signing announces itself)."""
    session = ctx.session
    contract = records.load_for_update(ctx, "contract", SalesContract, record_id, expected_version)
    status = data.pop("status", contract.status)
    if any(k in data for k in ("starts_on", "ends_on")) and contract.status != "draft":
        raise ServiceError("conflict", "the dates of a signed contract cannot change")
    changed = records.apply(contract, data, ("starts_on", "ends_on", "terms", "renewal_notice_days"))
    _check_dates(contract.starts_on, contract.ends_on)
    if status != contract.status:
        if status not in FLOW[contract.status]:
            raise ServiceError("conflict", f"a {contract.status} contract cannot become {status}",
                               extra={"allowed": list(FLOW[contract.status])})
        contract.status = status
        if status == "signed":
            contract.signed_at = utcnow()
            if contract.starts_on <= utcnow().date():
                contract.status = "active"
            session.flush()
            ctx.emit(c.CONTRACT_SIGNED, event_data(contract))
        else:  # contract_signed announces a signature; other moves (terminated) have no event of their own
            changed.append("status")
    session.flush()
    records.changed(ctx, "contract", contract.id, "update", changed)
    return contract


def _draft_only(contract: SalesContract) -> None:
    if contract.status != "draft":
        raise ServiceError("conflict", "only a draft contract can be deleted; terminate a signed one")


delete = records.deleter("contract", SalesContract, guard=_draft_only)


def _advance(contract: SalesContract, today: date, counts: dict) -> bool:
    """A signed contract starts on its first day, a live one expires after its last; whether the status moved."""
    before = contract.status
    if contract.status == "signed" and contract.starts_on <= today:
        contract.status = "active"
        counts["activated"] += 1
    if contract.ends_on < today:
        contract.status = "expired"
        counts["expired"] += 1
    return contract.status != before


def run_lifecycle(ctx: Context, today: date | None = None) -> dict:
    """The daily timer: start signed contracts, expire ended ones, remind owners N days before the end."""
    session = ctx.session
    today = today or utcnow().date()
    counts = {"activated": 0, "expired": 0, "reminded": 0}
    live = session.execute(select(SalesContract).where(SalesContract.status.in_(("signed", "active")),
                                                       SalesContract.deleted_at.is_(None))).scalars().all()
    default_days = settings.get(session, "renewal_reminder_days")
    for contract in live:
        if _advance(contract, today, counts):
            records.changed(ctx, "contract", contract.id, "update", ("status",))
        if contract.status == "expired":
            continue
        days = contract.renewal_notice_days or default_days
        if contract.reminder_activity_id is None and contract.ends_on - timedelta(days=days) <= today:
            due = datetime.combine(contract.ends_on - timedelta(days=days), time(9), tzinfo=timezone.utc)
            reminder = Activity(type="task", subject=f"Renewal: contract ends on {contract.ends_on.isoformat()}",
                                due_at=due, remind_at=due, owner_id=contract.owner_id, team_id=contract.team_id,
                                territory_id=contract.territory_id, account_id=contract.account_id,
                                opportunity_id=contract.opportunity_id, contract_id=contract.id, status="open",
                                participant_ids=[contract.owner_id] if contract.owner_id else [])
            session.add(reminder)
            session.flush()
            contract.reminder_activity_id = reminder.id
            session.flush()
            ctx.emit(c.ACTIVITY_LOGGED, activities.event_data(reminder))
            ctx.emit(c.CONTRACT_EXPIRING, event_data(contract))
            counts["reminded"] += 1
    session.flush()
    return counts


def document(ctx: Context, record_id: str) -> dict:
    """The contract as a Word document: parties, lines, value, dates, terms (the download is audited: it names
    the customer and its address). The seller is CRM_SELLER_NAME."""
    from docx import Document
    from docx.shared import Pt

    seller = config.env("CRM_SELLER_NAME", "CRM Suite Sales")
    contract = records.load(ctx, "contract", SalesContract, record_id)
    account = ctx.session.get(Account, contract.account_id) if contract.account_id else None
    doc = Document()
    doc.add_heading("Sales contract", level=0)
    doc.add_paragraph(f"Contract {contract.id}").runs[0].font.size = Pt(9)
    doc.add_heading("Parties", level=1)
    doc.add_paragraph(f"Seller: {seller}")
    if account is not None:
        address = ", ".join(x for x in (account.street, account.postal_code, account.city, account.country) if x)
        doc.add_paragraph(f"Customer: {account.name}" + (f", {address}" if address else ""))
    else:
        doc.add_paragraph("Customer: (not named)")
    doc.add_heading("Term and value", level=1)
    doc.add_paragraph(f"From {contract.starts_on.isoformat()} to {contract.ends_on.isoformat()}; "
                      f"total value {contract.value} {contract.currency}; status {contract.status}.")
    if contract.lines:
        doc.add_heading("Lines", level=1)
        table = doc.add_table(rows=1, cols=5)
        table.style = "Table Grid"
        for cell, title in zip(table.rows[0].cells, ("Description", "Quantity", "Unit price", "Discount %", "Total")):
            cell.text = title
        for line in contract.lines:
            cells = table.add_row().cells
            for cell, key in zip(cells, ("description", "quantity", "unit_price", "discount_percent", "line_total")):
                cell.text = str(line.get(key) or "")
    doc.add_heading("Terms", level=1)
    for paragraph in (contract.terms or "The general terms of sale apply.").split("\n\n"):
        doc.add_paragraph(paragraph)
    buffer = io.BytesIO()
    doc.save(buffer)
    records.changed(ctx, "contract", contract.id, "export")
    return {"filename": f"contract-{contract.id}.docx", "content_type": DOCX,
            "content_base64": base64.b64encode(buffer.getvalue()).decode()}

