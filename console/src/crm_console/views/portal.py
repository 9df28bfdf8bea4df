"""The customer portal: a portal customer's own tickets (open one, reply publicly) and the published
knowledge base with search. The API decides what a customer sees (own tickets, public replies, published
articles); the portal only shows it."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from crm_console import api
from crm_console.views.common import field_errors, form_data, signed_in
from crm_console.views.leads import _id

blp = Blueprint("portal", __name__, url_prefix="/portal")


def is_customer() -> bool:
    """A portal customer signed in (identity gives them the role "customer" and no other)."""
    return "customer" in ((session.get("me") or {}).get("roles") or [])


@blp.route("/")
@signed_in
def tickets():
    params = {"limit": 50, "sort": "-created_at"}
    if request.args.get("cursor"):
        params["cursor"] = request.args["cursor"]
    page = api.call("GET", "/tickets", params=params)
    return render_template("portal/tickets.html", page=page)


@blp.route("/tickets/new", methods=["GET", "POST"])
@signed_in
def new_ticket():
    errors, data = {}, {}
    if request.method == "POST":
        data = form_data(request.form, ("subject", "description"))
        try:
            made = api.call("POST", "/tickets", json=data)
        except api.ApiError as exc:
            if exc.status != 422:
                raise
            errors = field_errors(exc)
        else:
            flash(_("Your request %(number)s was received.", number=made.get("number") or ""), "ok")
            return redirect(url_for("portal.ticket", ticket_id=made["id"]))
    return render_template("portal/new.html", data=data, errors=errors), 422 if errors else 200


@blp.route("/tickets/<ticket_id>", methods=["GET", "POST"])
@signed_in
def ticket(ticket_id):
    ticket_id = _id(ticket_id)
    errors, draft = {}, {}
    if request.method == "POST":
        try:
            api.call("POST", f"/tickets/{ticket_id}/comments", json={"body": request.form.get("body", "")})
        except api.ApiError as exc:
            if exc.status != 422:
                raise
            errors, draft = field_errors(exc), request.form
        else:
            flash(_("Your reply was sent."), "ok")
            return redirect(url_for("portal.ticket", ticket_id=ticket_id))
    record = api.call("GET", f"/tickets/{ticket_id}")
    comments = api.call("GET", f"/tickets/{ticket_id}/comments", params={"limit": 200}).get("items", [])
    return render_template("portal/ticket.html", ticket=record, comments=comments, errors=errors,
                           draft=draft), 422 if errors else 200


@blp.route("/kb/")
@signed_in
def articles():
    q = request.args.get("q", "").strip()[:200]
    params = {"limit": 25, "status": "published"}
    if q:
        params["q"] = q
    if request.args.get("cursor"):
        params["cursor"] = request.args["cursor"]
    page = api.call("GET", "/kb/articles", params=params)
    return render_template("portal/articles.html", page=page, q=q)


@blp.route("/kb/<article_id>")
@signed_in
def article(article_id):
    record = api.call("GET", f"/kb/articles/{_id(article_id)}")
    if record.get("status") != "published":  # staff previewing the portal see only what customers see
        raise api.ApiError(404, {})
    return render_template("portal/article.html", article=record)
