"""The customer's profile as a Word document or an Excel workbook (seed: customer data, contracts and contact
summaries generated as Word or Excel): the whole picture (customers.picture, over the caller's scope), one
section or sheet per part."""
from __future__ import annotations

import base64
import io

from crm_common import exports

from crm_analytics.domain import customers
from crm_analytics.domain.report_sources import SOURCES

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TYPES = {**SOURCES["opportunities"].columns, **SOURCES["tickets"].columns, **SOURCES["orders"].columns,
         "value": "money", "starts_on": "date", "ends_on": "date", "signed_at": "datetime", "score": "integer",
         "answered_at": "datetime", "opened_at": "datetime", "resolved_at": "datetime"}
PARTS = ("deals", "orders", "contracts", "tickets", "surveys", "complaints", "campaigns")


def document(ctx, account_id: str, data: dict) -> dict:
    picture = customers.picture(ctx, account_id)
    fmt = data.get("format", "docx")
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in picture["account"]["name"] or "account")[:60]
    content = _docx(picture) if fmt == "docx" else _xlsx(picture)
    return {"filename": f"{stem}-profile.{fmt}", "content_type": DOCX if fmt == "docx" else XLSX,
            "content_base64": base64.b64encode(content).decode()}


def _columns(rows: list) -> list[tuple[str, str]]:
    return [(name, TYPES.get(name, "text")) for name in (rows[0] if rows else {})]


def _xlsx(picture: dict) -> bytes:
    out = io.BytesIO()
    account = picture["account"]
    sheets = [("Account", [("field", "text"), ("value", "text")],
               [[{"field": k, "value": v} for k, v in account.items()] +
                [{"field": k, "value": str(v)} for k, v in picture["totals"].items()]])]
    for part in PARTS:
        rows = picture.get(part)
        if rows:
            sheets.append((part.title(), _columns(rows), [rows]))
    exports.write_workbook(out, sheets)
    return out.getvalue()


def _docx(picture: dict) -> bytes:
    from docx import Document
    doc = Document()
    account = picture["account"]
    doc.add_heading(f"Customer profile: {account['name']}", level=1)
    facts = doc.add_table(rows=0, cols=2)
    for key, value in list(account.items()) + list(picture["totals"].items()):
        cells = facts.add_row().cells
        cells[0].text, cells[1].text = str(key), "" if value is None else str(value)
    for part in PARTS:
        rows = picture.get(part)
        if not rows:
            continue
        doc.add_heading(part.title(), level=2)
        columns = [name for name, _ in _columns(rows)]
        table = doc.add_table(rows=1, cols=len(columns))
        for cell, name in zip(table.rows[0].cells, columns):
            cell.text = name
        for row in rows[:200]:
            for cell, name in zip(table.add_row().cells, columns):
                cell.text = "" if row.get(name) is None else str(row[name])
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
