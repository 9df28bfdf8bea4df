"""Opportunities as a kanban by stage: 50 cards a column, more on demand; a move is a PATCH with If-Match."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, copy_current_request_context, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm_console import api
from crm_console.lists import LISTS
from crm_console.views.common import field_errors, list_page, signed_in
from crm_console.views.leads import _id
from crm_console.views.lists import tools
from crm_console.vocabulary import label

blp = Blueprint("deals", __name__, url_prefix="/deals")
STAGES = LISTS["opportunities"].bulk["stage"]
PER_COLUMN = 50


def _column(stage: str, cursor: str | None = None, may_refresh: bool = True) -> dict:
    params = {"stage": stage, "limit": PER_COLUMN, "sort": "-updated_at"}
    if cursor:
        params["cursor"] = cursor
    page = api.call("GET", "/opportunities", params=params, may_refresh=may_refresh)
    return {"stage": stage, "items": page.get("items", []), "next_cursor": page.get("next_cursor")}


def _totals() -> dict:
    """Each stage's count and amounts (per currency) from the server (analytics' pipeline, over the user's
    scope); {} when analytics cannot say (the board stays)."""
    try:
        items = api.call("GET", "/analytics/pipeline", may_refresh=False).get("items") or []
    except api.ApiError:
        return {}
    totals: dict = {}
    for item in items:
        stage = totals.setdefault(item.get("stage"), {"count": 0, "amounts": {}})
        stage["count"] += int(item.get("count") or 0)
        stage["amounts"][item.get("currency")] = item.get("amount")
    return totals


@blp.route("/")
@signed_in
def board():
    api.ensure_fresh()
    with ThreadPoolExecutor(len(STAGES)) as pool:  # the columns side by side
        futures = [pool.submit(copy_current_request_context(_column), stage, None, False) for stage in STAGES]
        columns = [future.result() for future in futures]
    return render_template("deals/board.html", columns=columns, stages=STAGES)


@blp.route("/list")
@signed_in
def index():
    """The opportunities as a list (filters, sort, saved views, bulk edit, export), beside the board."""
    spec = LISTS["opportunities"]
    page, filters, sort, errors = list_page(spec.path, spec.filters, spec.sorts)
    return render_template("deals/list.html", page=page, filters=filters, sort=sort, errors=errors, stages=STAGES,
                           sorts=spec.sorts, cursor=request.args.get("cursor"), **tools("opportunities"))


@blp.route("/totals")
@signed_in
def totals():
    """The columns' totals, asked for by the board once shown (htmx, out-of-band into each column's heading):
    the board's HTML never waits for analytics."""
    return render_template("deals/_totals.html", totals=_totals(), stages=STAGES)


@blp.route("/column/<stage>")
@signed_in
def more(stage):
    if stage not in STAGES:
        raise api.ApiError(404, {})
    return render_template("deals/_cards.html", column=_column(stage, request.args.get("cursor")), stages=STAGES)


@blp.route("/<deal_id>/stage", methods=["POST"])
@signed_in
def move(deal_id):
    deal_id = _id(deal_id)
    stage, version = request.form.get("stage", ""), request.form.get("version", "")
    body = {"stage": stage}
    if request.form.get("lost_reason", "").strip():
        body["lost_reason"] = request.form["lost_reason"].strip()
    if stage == "closed_lost" and "lost_reason" not in request.form:  # a drag to lost: ask why first
        deal = api.call("GET", f"/opportunities/{deal_id}")
        return render_template("deals/lost.html", deal=deal, version=version, errors={})
    try:
        api.call("PATCH", f"/opportunities/{deal_id}", json=body, headers={"If-Match": f'"{version}"'})
    except api.ApiError as exc:
        if exc.status == 412:
            flash(_("Changed by someone else. The board shows the latest version; please try again."), "warn")
            return redirect(url_for("deals.board"))
        if exc.status == 422:
            deal = api.call("GET", f"/opportunities/{deal_id}")
            errors = field_errors(exc)
            if stage == "closed_lost":
                return render_template("deals/lost.html", deal=deal, version=version, errors=errors), 422
            flash(" ".join(m for ms in errors.values() for m in ms) or exc.detail, "error")
            return redirect(url_for("deals.board"))
        raise
    flash(_("Moved to %(stage)s.", stage=label(stage)), "ok")
    return redirect(url_for("deals.board"))
