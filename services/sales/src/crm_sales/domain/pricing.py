"""Quote arithmetic in exact decimals: line discounts, tax and totals, rounded half-up to cents."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal("100")


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def line(quantity, unit_price, discount_percent) -> dict:
    """One line: gross = quantity x price (to cents), the discount on it (to cents), and the net line total."""
    quantity, unit_price, discount_percent = Decimal(str(quantity)), money(unit_price), Decimal(str(discount_percent))
    gross = money(quantity * unit_price)
    discount = money(gross * discount_percent / HUNDRED)
    return {"quantity": str(quantity.normalize() if quantity == quantity.to_integral() else quantity),
            "unit_price": str(unit_price), "discount_percent": str(discount_percent.quantize(CENT)),
            "gross": gross, "discount_amount": str(discount), "line_total": str(gross - discount)}


def totals(lines: list[dict], tax_percent) -> dict:
    """Subtotal (gross), discount total, tax on the discounted amount, total; all Decimal."""
    subtotal = sum((Decimal(str(x["gross"])) for x in lines), Decimal("0.00"))
    discount_total = sum((Decimal(x["discount_amount"]) for x in lines), Decimal("0.00"))
    tax_total = money((subtotal - discount_total) * Decimal(str(tax_percent)) / HUNDRED)
    return {"subtotal": money(subtotal), "discount_total": money(discount_total), "tax_total": tax_total,
            "total": money(subtotal - discount_total + tax_total)}
