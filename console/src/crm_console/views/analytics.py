"""Analytics: saved reports (run one: its rows as a table and an SVG bar chart) and dashboards (each widget's
first rows, as the API hands them over the viewer's scope)."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from crm_console import api, charts
from crm_console.views.common import list_page, signed_in
from crm_console.views.leads import _id

blp = Blueprint("analytics", __name__, url_prefix="/analytics")
ROWS = 100


@blp.route("/")
@signed_in
def index():
    reports, _, _, _ = list_page("/reports", ("q",), ("name", "-created_at"))
    dashboards = api.call("GET", "/dashboards", params={"limit": 50, "sort": "name"})
    return render_template("analytics/index.html", reports=reports, dashboards=dashboards,
                           cursor=request.args.get("cursor"))


@blp.route("/reports/<report_id>")
@signed_in
def report(report_id):
    report_id = _id(report_id)
    ran = api.call("GET", f"/reports/{report_id}/run", params={"format": "json", "limit": ROWS})
    return render_template("analytics/report.html", run=ran, chart=charts.bars(ran.get("columns"), ran.get("rows")))


@blp.route("/dashboards/<dashboard_id>")
@signed_in
def dashboard(dashboard_id):
    board = api.call("GET", f"/dashboards/{_id(dashboard_id)}")
    widgets = [{**w, "chart_data": charts.bars((w.get("data") or {}).get("columns"), (w.get("data") or {}).get(
        "rows") or [])} for w in board.get("widgets") or []]
    return render_template("analytics/dashboard.html", board=board, widgets=widgets)
