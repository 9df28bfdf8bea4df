"""Charts drawn on the server as SVG (no chart script): a report's rows as horizontal bars."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

NUMERIC = ("money", "integer", "number")
MAX_BARS = 20


def _number(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


def bars(columns: list[dict], rows: list[dict]) -> dict | None:
    """{label, value, bars: [{label, value, share}]} for the first text and first numeric column; None when
    the report has no numeric column (the table alone says it then)."""
    names = [c.get("name") for c in columns or []]
    value = next((c["name"] for c in columns or [] if c.get("type") in NUMERIC), None)
    label = next((n for n in names if n != value), None)
    if value is None:
        return None
    picked = [(str(row.get(label) if label else index + 1), _number(row.get(value)))
              for index, row in enumerate(rows[:MAX_BARS])]
    picked = [(name, number) for name, number in picked if number is not None]
    top = max((abs(number) for _, number in picked), default=Decimal(0)) or Decimal(1)
    return {"label": label, "value": value, "bars": [
        {"label": name, "value": number, "share": float(abs(number) / top)} for name, number in picked]}
