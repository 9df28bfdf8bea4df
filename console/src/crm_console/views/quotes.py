"""Quotes: the list and a quote's page with its lines and totals (as the API computed them, exact decimals; a
draft is edited in crm_console.views.quote_editor); send it (a discount over the limit is sent for a manager's
approval: it goes out once approved) and record its acceptance, which makes the order."""
from __future__ import annotations

import time
from datetime import datetime, timezone

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm_console import api
from crm_console.views import quote_editor
from crm_console.views.common import list_page, signed_in, visible
from crm_console.views.leads import _id

blp = Blueprint("quotes", __name__, url_prefix="/quotes")
STATUSES = ("draft", "sent", "accepted", "rejected")
SORTS = ("-created_at", "-total")


@blp.route("/")
@signed_in
def index():
    page, filters, sort, errors = list_page("/quotes", ("status", "account_id"), SORTS)
    return render_template("quotes/index.html", page=page, filters=filters, sort=sort, errors=errors,
                           statuses=STATUSES, sorts=SORTS, cursor=request.args.get("cursor"))


@blp.route("/<quote_id>")
@signed_in
def show(quote_id):
    quote = api.call("GET", f"/quotes/{_id(quote_id)}")
    account = visible(f"/accounts/{quote['account_id']}") if quote.get("account_id") else None
    approval = _approval(quote) if quote.get("status") == "draft" else None
    if approval is None and request.args.get("requested") and quote.get("status") == "draft":
        approval = _awaited(quote)
    return render_template("quotes/show.html", quote=quote, account=account, approval=approval)


def _awaited(quote: dict, wait: float = 3.0) -> dict | None:
    """Just sent for approval: the automation service opens the approval from sales' committed event, a moment
    later. Wait a little for it; past that the page still says it was asked for now (and offers no second
    Send), as it was."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(0.25)
        approval = _approval(quote)
        if approval is not None:
            return approval
    if not quote.get("needs_approval") or quote.get("approved_at"):
        return None
    return {"status": "pending", "created_at": datetime.now(timezone.utc).isoformat()}


@blp.route("/<quote_id>/edit")
@signed_in
def edit(quote_id):
    quote = api.call("GET", f"/quotes/{_id(quote_id)}")
    if quote.get("status") != "draft":
        return redirect(url_for("quotes.show", quote_id=quote["id"]))
    account = visible(f"/accounts/{quote['account_id']}") if quote.get("account_id") else None
    return quote_editor.edit_page(quote, account, _approval(quote))


def _approval(quote: dict) -> dict | None:
    """The pending approval of a draft whose discount is over the limit, when one was asked for."""
    if not quote.get("needs_approval") or quote.get("approved_at"):
        return None
    try:
        items = api.call("GET", "/approvals", params={"resource": "quote", "record_id": quote["id"],
                                                      "sort": "-created_at", "limit": 5}).get("items", [])
    except api.ApiError as exc:
        if exc.status not in (403, 404, 503):
            raise
        return None
    return next((item for item in items if item.get("status") == "pending"), None)


@blp.route("/<quote_id>/<action>", methods=["POST"])
@signed_in
def act(quote_id, action):
    quote_id = _id(quote_id)
    if action not in ("send", "accept"):
        raise api.ApiError(404, {})
    if action == "send" and "version" in request.form:
        refused = _save_first(quote_id)
        if refused:
            flash(refused, "warn")
            return redirect(url_for("quotes.edit", quote_id=quote_id))
    try:
        made = api.call("POST", f"/quotes/{quote_id}/{action}", json={})
    except api.ApiError as exc:
        if exc.status not in (409, 422):
            raise
        if exc.problem.get("approval_requested"):
            flash(_("Sent for approval: the quote goes out once a manager approves it."), "ok")
            return redirect(url_for("quotes.show", quote_id=quote_id, requested=1))
        flash(exc.detail or _("This quote cannot do that now."), "warn")
        return redirect(url_for("quotes.show", quote_id=quote_id))
    if action == "accept":
        flash(_("Quote accepted: the order is placed."), "ok")
        return redirect(url_for("orders.show", order_id=made["id"]))
    flash(_("Quote sent.") if (made or {}).get("status") == "sent" else
          _("The discount needs a manager's approval: the quote is sent once approved."), "ok")
    return redirect(url_for("quotes.show", quote_id=quote_id))


def _save_first(quote_id: str) -> str | None:
    """Send from the editor: the lines on the page (as typed when Send was pressed) are saved to the draft first,
    with `If-Match` of the version the page holds, so the quote sent is the one on the screen, even when the
    last keystroke's own save had not gone yet. The refusal in words when it could not be saved (nothing is
    sent then)."""
    if _id(request.form.get("quote_id", "").strip()) != quote_id:
        raise api.ApiError(404, {})
    saved, errors, problem, _rows, _sent = quote_editor.save(request.form)
    if saved:
        return None
    return problem or " ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items()) \
        or _("Add a line with a price.")
