"""Tickets: the queue with SLA badges and the ticket page (public replies and internal notes kept apart, the
macros the agent may use filling the reply: the API renders the chosen one for the ticket)."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm_console import api
from crm_console.access import can
from crm_console.lists import LISTS
from crm_console.views.common import field_errors, list_page, signed_in
from crm_console.views.leads import _id
from crm_console.views.lists import tools

blp = Blueprint("tickets", __name__, url_prefix="/tickets")
STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed", "reopened")
PRIORITIES = ("low", "normal", "high", "urgent")


def sla(ticket: dict) -> dict:
    """The badge of a ticket: breached, or the time left to the next due time."""
    if ticket.get("sla_breached"):
        return {"kind": "breached", "minutes": None}
    due = ticket.get("first_response_due_at") if not ticket.get("first_responded_at") else None
    due = due or (ticket.get("resolution_due_at") if not ticket.get("solved_at") else None)
    if not due:
        return {"kind": "none", "minutes": None}
    left = datetime.fromisoformat(due.replace("Z", "+00:00")) - datetime.now(timezone.utc)
    minutes = int(left.total_seconds() // 60)
    return {"kind": "overdue" if minutes < 0 else ("soon" if minutes < 60 else "ok"), "minutes": minutes}


@blp.route("/")
@signed_in
def queue():
    spec = LISTS["tickets"]
    page, filters, sort, errors = list_page(spec.path, spec.filters, spec.sorts, size=50)
    return render_template("tickets/queue.html", page=page, filters=filters, sort=sort, errors=errors,
                           statuses=STATUSES, priorities=PRIORITIES, sorts=spec.sorts, sla=sla,
                           cursor=request.args.get("cursor"), **tools("tickets"))


@blp.route("/<ticket_id>", methods=["GET", "POST"])
@signed_in
def show(ticket_id):
    ticket_id = _id(ticket_id)
    errors, draft = {}, {}
    if request.method == "POST":
        body = {"body": request.form.get("body", ""), "public": request.form.get("public") == "1"}
        try:
            api.call("POST", f"/tickets/{ticket_id}/comments", json=body)
        except api.ApiError as exc:
            if exc.status != 422:
                raise
            errors, draft = field_errors(exc), request.form
        else:
            flash(_("Reply sent to the customer.") if body["public"] else _("Internal note added."), "ok")
            return redirect(url_for("tickets.show", ticket_id=ticket_id))
    return _page(ticket_id, errors, draft)


@blp.route("/<ticket_id>/macro", methods=["POST"])
@signed_in
def macro(ticket_id):
    """The reply form filled with the chosen macro, rendered by the API for this ticket (htmx swaps the form;
    without JS the whole page comes back)."""
    ticket_id, chosen = _id(ticket_id), request.form.get("macro_id", "")
    errors, draft = {}, {}
    if chosen:
        try:
            rendered = api.call("POST", f"/tickets/{ticket_id}/macros/{_id(chosen)}/render")
        except api.ApiError as exc:
            if exc.status not in (404, 422):
                raise
            errors = {"macro_id": [_("This macro is no longer available.")]}
        else:
            draft = {"body": rendered["body"], "public": "1" if rendered["public"] else "0"}
    if request.headers.get("HX-Request"):
        return render_template("tickets/_reply.html", ticket={"id": ticket_id}, macros=_macros(), chosen=chosen,
                               errors=errors, draft=draft)
    return _page(ticket_id, errors, draft, chosen)


def _macros() -> list[dict]:
    if not can("macro", "read"):
        return []
    return api.call("GET", "/macros", params={"limit": 200, "sort": "name"}).get("items", [])


def _page(ticket_id: str, errors: dict, draft: dict, chosen: str = ""):
    ticket = api.call("GET", f"/tickets/{ticket_id}")
    comments = api.call("GET", f"/tickets/{ticket_id}/comments", params={"limit": 200}).get("items", [])
    return render_template("tickets/show.html", ticket=ticket, comments=comments, sla=sla(ticket), errors=errors,
                           draft=draft, macros=_macros(), chosen=chosen), 422 if errors else 200
