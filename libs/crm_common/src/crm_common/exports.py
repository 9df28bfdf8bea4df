"""Tabular exports at flat memory: CSV and XLSX written row by row from pages, typed cells, and the guard
against formula injection. No business rules.

    columns = [("name", "text"), ("amount", "money"), ("created_at", "datetime")]
    for chunk in csv_chunks(columns, pages):          # pages: an iterable of lists of row dicts
        ...                                           # stream it
    write_xlsx(path, columns, pages)                  # XlsxWriter, constant_memory: one row in memory at a time

A text cell (user data) starting with `=`, `+`, `-`, `@`, a tab or a carriage return is written with a leading
apostrophe (OWASP "CSV injection"), so no spreadsheet runs it as a formula; numbers, money, dates are typed cells
and never guarded. Excel holds 1,048,576 rows a sheet: `XLSX_MAX_ROWS` rows of data under the header.
"""
from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

XLSX_MAX_ROWS = 1_048_575  # data rows under one header row
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
NUMERIC = ("number", "money", "integer")


def safe_text(value) -> str:
    """A text cell as it is safe to write: a leading apostrophe before a formula's first character."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(DANGEROUS) else text


def cell(value, kind: str):
    """The cell value for a CSV: numbers as written, text guarded."""
    if value is None:
        return ""
    if kind in NUMERIC:
        return str(value)
    if kind in ("datetime", "date"):
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    return safe_text(value)


def csv_chunks(columns: list[tuple[str, str]], pages, notice: str | None = None):
    """CSV text in chunks (header first): one chunk per page of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if notice:
        writer.writerow([safe_text(notice)])
    writer.writerow([safe_text(name) for name, _ in columns])
    yield buffer.getvalue()
    for rows in pages:
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            writer.writerow([cell(row.get(name), kind) for name, kind in columns])
        yield buffer.getvalue()


def _number(value):
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None


def _when(value):
    if isinstance(value, (datetime, date)):
        return value
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=None) if parsed.tzinfo else parsed


def write_xlsx(target, columns: list[tuple[str, str]], pages, sheet: str = "Report") -> int:
    """Write the rows to an .xlsx file (`target`: a path or a binary file) with XlsxWriter in constant-memory
    mode, typed cells; returns the number of data rows. Stops at XLSX_MAX_ROWS (the caller checks the count
    first and sends CSV past it)."""
    return write_workbook(target, [(sheet, columns, pages)])[0]


def write_workbook(target, sheets: list) -> list[int]:
    """Several sheets `(name, columns, pages)` in one workbook (as write_xlsx); the rows written per sheet."""
    import xlsxwriter

    book = xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, "remove_timezone": True})
    bold = book.add_format({"bold": True})
    formats = {"money": book.add_format({"num_format": "#,##0.00"}),
               "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
               "date": book.add_format({"num_format": "yyyy-mm-dd"})}
    counts = [_sheet(book, name, columns, pages, bold, formats) for name, columns, pages in sheets]
    book.close()
    return counts


def _sheet(book, name: str, columns, pages, bold, formats) -> int:
    ws = book.add_worksheet("".join(ch for ch in name if ch not in "[]:*?/\\")[:31] or None)
    for c, (title, _) in enumerate(columns):
        ws.write_string(0, c, safe_text(title), bold)
    r = 0
    for rows in pages:
        for row in rows:
            if r >= XLSX_MAX_ROWS:
                break
            r += 1
            for c, (title, kind) in enumerate(columns):
                value = row.get(title)
                if value is None:
                    continue
                if kind in NUMERIC and _number(value) is not None:
                    ws.write_number(r, c, _number(value), formats.get(kind))
                elif kind in ("datetime", "date") and _when(value) is not None:
                    ws.write_datetime(r, c, _when(value), formats[kind])
                else:
                    ws.write_string(r, c, safe_text(value))
    return r
