"""Leads: the list (filters, sort, paging), create with the duplicate warning, convert."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm_console import api
from crm_console.lists import LISTS
from crm_console.views.common import field_errors, form_data, signed_in

blp = Blueprint("leads", __name__, url_prefix="/leads")
FILTERS, SORTS = LISTS["leads"].filters, LISTS["leads"].sorts
STATUSES = ("new", "contacted", "qualified", "unqualified", "converted")
SOURCES = ("api", "web_form", "import", "referral", "event", "cold_call", "partner", "other")
FIELDS = ("first_name", "last_name", "company", "title", "email", "phone", "country", "industry")
PAGE = 25


@blp.route("/")
@signed_in
def index():
    params = {name: request.args[name].strip() for name in FILTERS if request.args.get(name, "").strip()}
    sort = request.args.get("sort") if request.args.get("sort") in SORTS else "-created_at"
    query = {**params, "sort": sort, "limit": PAGE}
    if request.args.get("cursor"):
        query["cursor"] = request.args["cursor"]
    errors = {}
    try:
        page = api.call("GET", "/leads", params=query)
    except api.ApiError as exc:
        if exc.status != 422:
            raise
        errors, page = field_errors(exc), {"items": [], "next_cursor": None}
    template = "leads/_rows.html" if request.headers.get("HX-Request") and request.headers.get(
        "HX-Target") == "lead-rows" else "leads/index.html"
    from crm_console.views.lists import tools
    return render_template(template, page=page, filters=params, sort=sort, errors=errors, statuses=STATUSES,
                           sources=SOURCES, sorts=SORTS, cursor=request.args.get("cursor"), **tools("leads"))


@blp.route("/new", methods=["GET", "POST"])
@signed_in
def create():
    if request.method == "GET":
        return render_template("leads/new.html", data={}, errors={}, duplicates=None)
    data = form_data(request.form, FIELDS)
    body = {**data, "source": "other"}
    if request.form.get("force") == "1":
        body["force"] = True
    try:
        lead = api.call("POST", "/leads", json=body)
    except api.ApiError as exc:
        if exc.status == 409 and "duplicates" in exc.problem:
            return render_template("leads/new.html", data=data, errors={}, duplicates=exc.problem["duplicates"],
                                   hidden=exc.problem.get("hidden_duplicates") or 0), 409
        if exc.status == 422:
            return render_template("leads/new.html", data=data, errors=field_errors(exc), duplicates=None), 422
        raise
    return redirect(url_for("leads.show", lead_id=lead["id"]))


@blp.route("/<lead_id>")
@signed_in
def show(lead_id):
    lead = api.call("GET", f"/leads/{_id(lead_id)}")
    return render_template("leads/show.html", lead=lead, errors={}, data={})


@blp.route("/<lead_id>/convert", methods=["POST"])
@signed_in
def convert(lead_id):
    lead_id = _id(lead_id)
    body = {}
    if request.form.get("create_opportunity") == "1":
        body["create_opportunity"] = form_data(request.form, ("name", "amount", "currency", "expected_close_date"))
    try:
        result = api.call("POST", f"/leads/{lead_id}/convert", json=body)
    except api.ApiError as exc:
        if exc.status in (409, 422):
            lead = api.call("GET", f"/leads/{lead_id}")
            errors = {k.removeprefix("create_opportunity."): v for k, v in field_errors(exc).items()}
            message = _("This lead is converted already.") if exc.status == 409 else None
            return render_template("leads/show.html", lead=lead, errors=errors, data=request.form,
                                   message=message), exc.status
        raise
    return render_template("leads/converted.html", result=result)


def _id(value: str) -> str:
    import uuid
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise api.ApiError(404, {}) from None
