"""Routes of the analytics context (API.md, Analytics): figures from the read models, the customer's picture,
customer intelligence, saved reports and dashboards, the read models' status and rebuild.

One line per route (crm_gateway.conventions): the contract names the call, its input and answer, and the
permission; the service applies the caller's record scope to every figure and report.
"""
from __future__ import annotations

import base64
import os
import tempfile

from flask import Response, stream_with_context
from flask.views import MethodView

import crm_analytics_contracts as c
from crm_analytics_contracts import reports as r
from crm_common import exports
from crm_gateway.auth import requires
from crm_gateway.conventions import Route, build, resource
from crm_gateway.rpc import call

ROUTES = [
    Route("GET", "/analytics/pipeline", c.PIPELINE),
    Route("GET", "/analytics/funnel", c.FUNNEL),
    Route("GET", "/analytics/win-rate", c.WIN_RATE),
    Route("GET", "/analytics/sales-cycle", c.SALES_CYCLE),
    Route("GET", "/analytics/forecast", c.FORECAST),
    Route("GET", "/analytics/activities", c.ACTIVITIES),
    Route("GET", "/analytics/service", c.SERVICE),
    Route("GET", "/analytics/marketing", c.MARKETING),
    Route("GET", "/analytics/kpis", c.KPIS),
    Route("GET", "/analytics/subscriptions", c.SUBSCRIPTIONS),
    Route("GET", "/analytics/rfm", c.RFM),
    Route("GET", "/analytics/clv", c.CLV),
    Route("GET", "/analytics/churn-risk", c.CHURN_RISK),
    Route("GET", "/analytics/cohorts", c.COHORTS),
    Route("GET", "/analytics/customers/<id>", c.CUSTOMER),
    Route("GET", "/analytics/customers/<id>/timeline", c.CUSTOMER_TIMELINE),
    Route("GET", "/analytics/status", c.STATUS),
    Route("POST", "/analytics/rebuild", c.REBUILD, status=202, location="/analytics/rebuild/{id}"),
    Route("GET", "/analytics/rebuild/<id>", c.GET_REBUILD),
    *resource("reports", c.LIST_REPORTS, c.CREATE_REPORT, c.GET_REPORT, c.UPDATE_REPORT, c.DELETE_REPORT),
    *resource("dashboards", c.LIST_DASHBOARDS, c.CREATE_DASHBOARD, c.GET_DASHBOARD, c.UPDATE_DASHBOARD,
              c.DELETE_DASHBOARD),
]
blueprints = build("analytics", ROUTES)

# Hand-written: `run` answers JSON or streams a CSV or XLSX download, paging through the service's rows (the
# gateway holds one page at a time; XlsxWriter in constant-memory mode). Past Excel's rows, CSV with a notice.
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE = 5000
_reports = next(blp for blp in blueprints if blp.name == "analytics_reports")


def _pages(record_id: str, first: dict):
    yield first["rows"]
    cursor = first["next_cursor"]
    while cursor is not None:
        page = call("analytics", c.RUN_REPORT.method, {"format": "csv", "limit": PAGE, "cursor": cursor}, id=record_id)
        yield page["rows"]
        cursor = page["next_cursor"]


def _filename(name: str, ext: str) -> str:
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:60] or "report"
    return f"{stem}.{ext}"


@_reports.route("/reports/<id:record_id>/run", endpoint="ReportsItemRun")
class ReportRun(MethodView):
    @_reports.arguments(r.RunQuery(), location="query")
    @_reports.response(200, r.ReportRun, description="json: one page of rows; csv or xlsx: the whole report as a "
                                                     "file (XLSX past 1,048,575 rows: CSV, X-CRM-Notice says why)")
    @_reports.alt_response(403, description="csv and xlsx need report export")
    @requires("report", "read")
    def get(self, query, record_id):
        """Run a saved report over the caller's scope: JSON pages, or a CSV or XLSX download."""
        fmt = query.get("format", "json")
        if fmt == "json":
            return call("analytics", c.RUN_REPORT.method, query, id=record_id)
        first = call("analytics", c.RUN_REPORT.method, {"format": fmt, "limit": PAGE}, id=record_id)
        columns = [(col["name"], col["type"]) for col in first["columns"]]
        notice = None
        if fmt == "xlsx" and (first["total"] or 0) > exports.XLSX_MAX_ROWS:
            fmt = "csv"
            notice = (f"{first['total']} rows are more than an Excel sheet holds ({exports.XLSX_MAX_ROWS}): "
                      "sent as CSV, every row included")
        headers = {"X-CRM-Notice": notice} if notice else {}
        if fmt == "csv":
            headers["Content-Disposition"] = f'attachment; filename="{_filename(first["name"], "csv")}"'
            chunks = exports.csv_chunks(columns, _pages(record_id, first))
            return Response(stream_with_context(chunks), mimetype="text/csv", headers=headers)
        handle, path = tempfile.mkstemp(suffix=".xlsx")
        os.close(handle)
        exports.write_xlsx(path, columns, _pages(record_id, first))

        def stream():
            try:
                with open(path, "rb") as f:
                    while chunk := f.read(1 << 16):
                        yield chunk
            finally:
                os.unlink(path)
        headers["Content-Disposition"] = f'attachment; filename="{_filename(first["name"], "xlsx")}"'
        return Response(stream(), mimetype=XLSX, headers=headers)


# Hand-written: the customer's profile is a Word document or an Excel workbook, not JSON (the service sends it
# base64-encoded in its answer).
_analytics = next(blp for blp in blueprints if blp.name == "analytics_analytics")


@_analytics.route("/analytics/customers/<id:record_id>/profile", endpoint="AnalyticsCustomersItemProfile")
class CustomerProfile(MethodView):
    @_analytics.arguments(c.customers.ProfileQuery(), location="query")
    @_analytics.response(200, content_type=XLSX, description="the .docx or .xlsx file")
    @requires(*c.CUSTOMER_PROFILE.permission)
    def get(self, query, record_id):
        """The account's whole picture as a Word document (format=docx) or an Excel workbook (format=xlsx)."""
        document = call("analytics", c.CUSTOMER_PROFILE.method, query, id=record_id)
        return Response(base64.b64decode(document["content_base64"]), status=200, mimetype=document["content_type"],
                        headers={"Content-Disposition": f'attachment; filename="{document["filename"]}"'})
