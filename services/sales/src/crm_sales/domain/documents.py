"""Generated documents kept as files: a quote's Word document (the contract's is crm_sales.domain.sales_contracts),
and either kept as a file (crm_common.records.attachments) of the quote or contract itself, or of its
opportunity, for a caller who may change the record it is attached to (the document itself needs read access)."""
from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

from crm_common import config
from crm_common.errors import validation
from crm_sales.domain import record_comments, records, sales_contracts
from crm_sales.models import Account, Opportunity, Quote, SalesContract

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def quote_document(ctx: Context, record_id: str) -> dict:
    """The quote as a Word document: seller and customer, lines, totals, validity (the download is audited)."""
    from docx import Document

    quote = records.load(ctx, "quote", Quote, record_id)
    account = ctx.session.get(Account, quote.account_id) if quote.account_id else None
    doc = Document()
    doc.add_heading("Quote", level=0)
    doc.add_paragraph(f"Quote {quote.id}; status {quote.status}"
                      + (f"; valid until {quote.valid_until.isoformat()}" if quote.valid_until else ""))
    doc.add_paragraph(f"Seller: {config.env('CRM_SELLER_NAME', 'CRM Suite Sales')}")
    doc.add_paragraph(f"Customer: {account.name if account is not None else '(not named)'}")
    table = doc.add_table(rows=1, cols=5)
    table.style = "Table Grid"
    for cell, title in zip(table.rows[0].cells, ("Description", "Quantity", "Unit price", "Discount %", "Total")):
        cell.text = title
    for line in quote.lines or []:
        cells = table.add_row().cells
        for cell, key in zip(cells, ("description", "quantity", "unit_price", "discount_percent", "line_total")):
            cell.text = str(line.get(key) or "")
    doc.add_paragraph(f"Subtotal {quote.subtotal} {quote.currency}; discounts {quote.discount_total}; "
                      f"tax {quote.tax_total}; total {quote.total} {quote.currency}.")
    buffer = io.BytesIO()
    doc.save(buffer)
    records.changed(ctx, "quote", quote.id, "export")
    return {"filename": f"quote-{quote.id}.docx", "content_type": DOCX,
            "content_base64": base64.b64encode(buffer.getvalue()).decode()}


def _keep(ctx: Context, resource: str, record, document: dict, attach_to: str) -> dict:
    if attach_to == "opportunity":
        if not record.opportunity_id:
            raise validation({"attach_to": [f"this {resource} is not linked to an opportunity"]})
        target = records.load(ctx, "opportunity", Opportunity, record.opportunity_id, "update")
        where = ("opportunity", target.id)
    else:
        where = (resource, record.id)
    return record_comments.ATTACHMENTS.keep(ctx, *where, document["filename"],
                                            base64.b64decode(document["content_base64"]))


def keep_quote_document(ctx: Context, record_id: str, data: dict) -> dict:
    quote = records.load(ctx, "quote", Quote, record_id, "update")
    return _keep(ctx, "quote", quote, quote_document(ctx, record_id), data.get("attach_to") or "record")


def keep_contract_document(ctx: Context, record_id: str, data: dict) -> dict:
    contract = records.load(ctx, "contract", SalesContract, record_id, "update")
    return _keep(ctx, "contract", contract, sales_contracts.document(ctx, record_id), data.get("attach_to") or "record")
