"""Saved reports (`/api/v1/reports`) and dashboards (`/api/v1/dashboards`), per user and shared with a team or
a role; a report runs as JSON here, as CSV or XLSX through the gateway's export of the same pages."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Timestamp
from crm_common.contracts.registry import rpc
from crm_common.contracts.schemas import ListQuery, Patch, Record, Strict, page

SOURCES = ("opportunities", "leads", "tickets", "orders", "activities", "accounts")
CHARTS = ("table", "bar", "line", "pie", "funnel", "number")
FORMATS = ("json", "csv", "xlsx")
COLUMN_RULE = ("columns, filters, group_by and sort name columns of the source, or custom.<name>: a custom field of "
               "the source's resource (filters also from and to, days)")
SHARE_RULE = "shared_team_id is the caller's own team unless the caller is an administrator"
WIDGET_RULE = "each widget's report_id names a report the caller may read"


def _id(**kw):
    return fields.String(validate=validate.Length(min=1, max=64), **kw)


class ReportSchedule(Strict):
    cadence = fields.String(required=True, validate=validate.OneOf(("daily", "weekly")))
    recipients = fields.List(fields.Email(), required=True, validate=validate.Length(min=1, max=20))


class ReportFields(Strict):
    RULES = (COLUMN_RULE, SHARE_RULE)
    name = fields.String(validate=validate.Length(min=1, max=200))
    source = fields.String(validate=validate.OneOf(SOURCES))
    columns = fields.List(fields.String(validate=validate.Length(min=1, max=60)), validate=validate.Length(min=1, max=30))
    filters = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=60)),
                          values=fields.String(validate=validate.Length(max=200), allow_none=True),
                          metadata={"description": "column -> value (equality); from / to: days on the source's date"})
    group_by = fields.String(allow_none=True, validate=validate.Length(min=1, max=60))
    sort = fields.String(allow_none=True, validate=validate.Length(min=1, max=61),
                         metadata={"description": "a column, prefixed with - for descending"})
    chart = fields.String(validate=validate.OneOf(CHARTS))
    shared_team_id = _id(allow_none=True)
    shared_role = fields.String(allow_none=True, validate=validate.Length(min=1, max=60))
    schedule = fields.Nested(ReportSchedule, allow_none=True, metadata={
        "description": "mail the report as CSV to the recipients, run in the author's scope"})


class ReportIn(ReportFields):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    columns = fields.List(fields.String(validate=validate.Length(min=1, max=60)), required=True,
                          validate=validate.Length(min=1, max=30))
    filters = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=60)),
                          values=fields.String(validate=validate.Length(max=200), allow_none=True), load_default=dict)
    chart = fields.String(load_default="table", validate=validate.OneOf(CHARTS))


class ReportPatch(ReportFields, Patch):
    pass


class Report(Record):
    name = fields.String()
    owner_id = fields.String(allow_none=True)
    shared_team_id = fields.String(allow_none=True)
    shared_role = fields.String(allow_none=True)
    source = fields.String()
    columns = fields.List(fields.String())
    filters = fields.Dict()
    group_by = fields.String(allow_none=True)
    sort = fields.String(allow_none=True)
    chart = fields.String()
    schedule = fields.Dict(allow_none=True)
    next_run_at = Timestamp(allow_none=True)


class ReportQuery(ListQuery):
    SORTABLE = ("created_at", "name")
    source = fields.String(validate=validate.OneOf(SOURCES))


class RunQuery(Strict):
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS), metadata={
        "description": "json here; csv and xlsx download the rows (XLSX past 1,048,575 rows: CSV with a notice)"})
    limit = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=5000))
    cursor = fields.Integer(validate=validate.Range(min=0), metadata={"description": "next_cursor of a page"})


class Column(Schema):
    name = fields.String()
    type = fields.String(metadata={"description": "text, money, integer, number, boolean, date or datetime"})


class ReportRun(Schema):
    report_id = fields.String()
    name = fields.String()
    source = fields.String()
    chart = fields.String()
    columns = fields.List(fields.Nested(Column))
    rows = fields.List(fields.Dict())
    total = fields.Integer(allow_none=True, metadata={"description": "rows in all (on the first page)"})
    next_cursor = fields.Integer(allow_none=True)


class DashboardWidget(Strict):
    report_id = _id(required=True)
    chart = fields.String(validate=validate.OneOf(CHARTS))
    title = fields.String(validate=validate.Length(max=200))


class DashboardFields(Strict):
    RULES = (WIDGET_RULE, SHARE_RULE)
    name = fields.String(validate=validate.Length(min=1, max=200))
    widgets = fields.List(fields.Nested(DashboardWidget), validate=validate.Length(max=20))
    shared_team_id = _id(allow_none=True)
    shared_role = fields.String(allow_none=True, validate=validate.Length(min=1, max=60))


class DashboardIn(DashboardFields):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    widgets = fields.List(fields.Nested(DashboardWidget), load_default=list, validate=validate.Length(max=20))


class DashboardPatch(DashboardFields, Patch):
    pass


class Dashboard(Record):
    name = fields.String()
    owner_id = fields.String(allow_none=True)
    shared_team_id = fields.String(allow_none=True)
    shared_role = fields.String(allow_none=True)
    widgets = fields.List(fields.Dict(), metadata={"description": "on a GET: each with `data`, its report's first "
                                                                 "rows over the viewer's scope"})


class DashboardQuery(ListQuery):
    SORTABLE = ("created_at", "name")


def _rpc(method, input_, output, action, record=False, description=""):
    return rpc("analytics", method, input_, output, permission=("report", action), record=record,
               description=description)


LIST_REPORTS = _rpc("list_reports", ReportQuery, page(Report, "ReportPage"), "read")
CREATE_REPORT = _rpc("create_report", ReportIn, Report, "create")
GET_REPORT = _rpc("get_report", None, Report, "read", record=True)
UPDATE_REPORT = _rpc("update_report", ReportPatch, Report, "update", record=True)
DELETE_REPORT = _rpc("delete_report", None, None, "delete", record=True)
RUN_REPORT = _rpc("run_report", RunQuery, ReportRun, "read", record=True,
                  description="One page of the report's rows over the caller's scope (csv/xlsx: the gateway's export).")
LIST_DASHBOARDS = _rpc("list_dashboards", DashboardQuery, page(Dashboard, "DashboardPage"), "read")
CREATE_DASHBOARD = _rpc("create_dashboard", DashboardIn, Dashboard, "create")
GET_DASHBOARD = _rpc("get_dashboard", None, Dashboard, "read", record=True)
UPDATE_DASHBOARD = _rpc("update_dashboard", DashboardPatch, Dashboard, "update", record=True)
DELETE_DASHBOARD = _rpc("delete_dashboard", None, None, "delete", record=True)
