"""A quote being written: its lines typed in the browser and its totals recomputed by the API as one types.

The console does no money arithmetic: from the first line with a price the quote is a draft in the CRM
(`POST /quotes`), and every change after that is a `PATCH` of the draft (with `If-Match`); the totals shown
are the API's answer, swapped in by htmx (the totals, each line's total, and the send button, which says
"Send for approval" while a discount is over the limit). "Discard draft" deletes it."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm_console import api
from crm_console.views.common import field_errors, signed_in, visible
from crm_console.views.leads import _id

blp = Blueprint("quote_editor", __name__, url_prefix="/quotes")
LINE_FIELDS = ("product_id", "description", "quantity", "unit_price", "discount_percent")
MAX_LINES = 200
NEW_ROWS = 3


def rows_of(form) -> list[dict]:
    """The line rows of the form in their order (`lines-<n>-<field>`), blank ones included."""
    indexes = sorted({int(key.split("-")[1]) for key in form if key.startswith("lines-")
                      and key.split("-")[1].isdigit()})[:MAX_LINES]
    return [{"index": n, **{f: form.get(f"lines-{n}-{f}", "").strip() for f in LINE_FIELDS}} for n in indexes]


def _body_lines(rows: list[dict]) -> tuple[list[dict], list[int]]:
    """The lines to send (rows with a product, description, price or discount) and the row each came from; a
    product without a price or a description takes the product's (the API's pricing)."""
    lines, sent = [], []
    for row in rows:
        if not (row["product_id"] or row["description"] or row["unit_price"] or row["discount_percent"]):
            continue
        line = {"quantity": row["quantity"] or "1"}
        for name in ("product_id", "description", "unit_price", "discount_percent"):
            if row[name]:
                line[name] = row[name]
        lines.append(line)
        sent.append(row["index"])
    return lines, sent


def _choices(path: str, params: dict) -> list[dict]:
    """The options of a picker (accounts, products); none when the API cannot say (the page stays)."""
    try:
        return api.call("GET", path, params={"limit": 200, **params}).get("items", [])
    except api.ApiError as exc:
        if exc.status not in (403, 503):
            raise
        return []


def _accounts() -> list[dict]:
    return _choices("/accounts", {"sort": "name"})


def _products() -> list[dict]:
    return _choices("/products", {"active": "true", "sort": "name"})


@blp.route("/new")
@signed_in
def new():
    rows = [{"index": n, **{f: "" for f in LINE_FIELDS}} for n in range(NEW_ROWS)]
    header = {"account_id": request.args.get("account_id", ""), "currency": request.args.get("currency", "CNY"),
              "tax_percent": "0", "opportunity_id": request.args.get("opportunity_id", "")}
    return render_template("quotes/edit.html", quote=None, rows=rows, header=header, accounts=_accounts(),
                           products=_products())


def edit_page(quote: dict, account: dict | None, approval: dict | None = None):
    """A draft's page: the editor with its lines (and one blank row to add another)."""
    rows = [{"index": n, "product_id": line.get("product_id") or "", "description": line.get("description") or "",
             "quantity": line.get("quantity") or "",
             "unit_price": line.get("unit_price") or "", "discount_percent": line.get("discount_percent") or ""}
            for n, line in enumerate(quote.get("lines") or [])]
    rows.append({"index": len(rows), **{f: "" for f in LINE_FIELDS}})
    header = {"currency": quote.get("currency"), "tax_percent": quote.get("tax_percent") or "0"}
    return render_template("quotes/edit.html", quote=quote, rows=rows, header=header, account=account,
                           approval=approval, totals=_line_totals(quote, [r["index"] for r in rows[:-1]]),
                           products=_products())


def _line_totals(quote: dict, sent: list[int]) -> dict:
    return {index: line.get("line_total") for index, line in zip(sent, quote.get("lines") or [])}


@blp.route("/line")
@signed_in
def line():
    """One more blank row (the "Add a line" button), and the button again for the row after it."""
    try:
        index = min(max(int(request.args.get("index", "0")), 0), MAX_LINES - 1)
    except ValueError:
        index = 0
    return render_template("quotes/_row.html", row={"index": index, **{f: "" for f in LINE_FIELDS}}, adder=True,
                           products=_products())


def save(form) -> tuple[dict | None, dict, str | None, list[dict], list[int]]:
    """Save the lines of the form as the draft (a `PATCH` with `If-Match` of the version the page holds, or the
    `POST` making it on the first priced line): the quote as the API answers it, the refusals by field, a
    problem in words, the form's rows and the row each line came from."""
    rows = rows_of(form)
    lines, sent = _body_lines(rows)
    quote_id = form.get("quote_id", "").strip()
    quote, errors, problem = None, {}, None
    if lines:
        body = {"lines": lines, "tax_percent": form.get("tax_percent", "").strip() or "0"}
        try:
            if quote_id:
                quote = api.call("PATCH", f"/quotes/{_id(quote_id)}", json=body,
                                 headers={"If-Match": f'"{form.get("version", "")}"'})
            else:
                for name in ("account_id", "opportunity_id"):
                    if form.get(name, "").strip():
                        body[name] = form[name].strip()
                body["currency"] = form.get("currency", "").strip().upper()
                quote = api.call("POST", "/quotes", json=body)
        except api.ApiError as exc:
            if exc.status == 412:
                problem = _("Changed by someone else. Reload to see the latest version.")
            elif exc.status == 409:
                problem = exc.detail or _("This quote cannot change any more.")
            elif exc.status == 422:
                errors = _named(field_errors(exc), sent)
            else:
                raise
    return quote, errors, problem, rows, sent


@blp.route("/draft", methods=["POST"])
@signed_in
def draft():
    """Save what is typed as the draft (created on the first priced line) and answer the API's totals."""
    quote_id = request.form.get("quote_id", "").strip()
    quote, errors, problem, rows, sent = save(request.form)
    if not request.headers.get("HX-Request"):
        if quote:
            return redirect(url_for("quotes.edit", quote_id=quote["id"]))
        flash(problem or " ".join(m for ms in errors.values() for m in ms) or _("Add a line with a price."), "warn")
        return redirect(url_for("quotes.edit", quote_id=_id(quote_id)) if quote_id else url_for("quote_editor.new"))
    created = bool(quote) and not quote_id
    account = visible(f"/accounts/{quote['account_id']}") if created and quote.get("account_id") else None
    response = render_template("quotes/_totals.html", quote=quote, errors=errors, problem=problem, rows=rows,
                               totals=_line_totals(quote, sent) if quote else {}, oob=True, created=created,
                               account=account)
    headers = {"HX-Push-Url": url_for("quotes.edit", quote_id=quote["id"])} if created else {}
    return response, 200, headers


def _named(errors: dict, sent: list[int]) -> dict:
    """The API's `lines.<i>.<field>` named by the form's row ("Line 2 · unit_price"), the rest as they came."""
    named = {}
    for key, messages in errors.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit() and int(parts[1]) < len(sent):
            key = _("Line %(n)s · %(field)s", n=sent[int(parts[1])] + 1, field=parts[2])
        named.setdefault(key, []).extend(messages)
    return named


@blp.route("/<quote_id>/discard", methods=["POST"])
@signed_in
def discard(quote_id):
    api.call("DELETE", f"/quotes/{_id(quote_id)}")
    flash(_("Draft discarded."), "ok")
    return redirect(url_for("quotes.index"))
