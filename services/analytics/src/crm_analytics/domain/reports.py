"""Saved reports and dashboards: per user, shared with a team or a role; a report runs over the read models
in the caller's scope (the viewer's, not the author's: a rep's dashboard is not the company's)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Column, func, or_, select

from crm_common import paging
from crm_common.errors import ServiceError
from crm_common.versioning import check_version

from crm_analytics.domain.filters import visible
from crm_analytics.domain.report_columns import Columns, plain
from crm_analytics.domain.report_sources import SUMMED
from crm_analytics.models import Dashboard, Report

SORTABLE = ("created_at", "name")


def _invalid(errors: dict) -> ServiceError:
    return ServiceError("validation_failed", "the report definition has invalid fields", errors=errors)


def _mine_or_shared(model, actor):
    if actor.is_admin:
        return None
    found = [model.owner_id == actor.user_id] if actor.user_id else []
    if actor.team_id:
        found.append(model.shared_team_id == actor.team_id)
    if actor.roles:
        found.append(model.shared_role.in_(list(actor.roles)))
    return or_(*found) if found else model.id.is_(None)


def _load(ctx, model, record_id: str, what: str, writing: bool = False):
    record = ctx.session.get(model, record_id)
    seen = _mine_or_shared(model, ctx.caller)
    if record is None or (seen is not None and not ctx.session.execute(
            select(model.id).where(model.id == record_id, seen)).first()):
        raise ServiceError("not_found", f"no such {what}")
    if writing and not ctx.caller.is_admin and record.owner_id != ctx.caller.user_id:
        raise ServiceError("forbidden", f"only its author changes a shared {what}")
    return record


def _check_sharing(ctx, data: dict) -> None:
    team = data.get("shared_team_id")
    if team and not ctx.caller.is_admin and team != ctx.caller.team_id:
        raise _invalid({"shared_team_id": ["share with your own team"]})


def _check_definition(session, data: dict) -> None:
    """422 for a column, filter, group or sort the source has not (a custom field: not a live one of the
    source's resource, or a filter value it cannot hold), each named."""
    cols = Columns(session, data["source"])
    errors: dict = {}
    unknown = [c for c in data["columns"] if not cols.known(c)]
    if unknown:
        errors["columns"] = [cols.unknown_message(c) for c in unknown]
    for key, value in (data.get("filters") or {}).items():
        if key in ("from", "to"):
            try:
                date.fromisoformat(str(value))
            except ValueError:
                errors.setdefault("filters", []).append(f"{key}: a day like 2026-11-30")
        elif not cols.known(key):
            errors.setdefault("filters", []).append(cols.unknown_message(key))
        elif cols.field(key) is not None:
            try:
                cols.condition(key, value)
            except ValueError as exc:
                errors.setdefault("filters", []).append(f"{key}: {exc}")
    group = data.get("group_by")
    if group and not cols.known(group):
        errors["group_by"] = [cols.unknown_message(group)]
    elif group and not cols.groupable(group):
        errors["group_by"] = [f"{group}: a multi choice field groups nothing; filter by one of its choices"]
    if data.get("sort"):
        key = data["sort"].lstrip("-")
        allowed = ("key", "count") if group else ()
        if key not in allowed and not cols.known(key):
            errors["sort"] = [cols.unknown_message(key)]
        elif key not in allowed and not cols.groupable(key):
            errors["sort"] = [f"{key}: a multi choice field does not sort"]
    if errors:
        raise _invalid(errors)


def create_report(ctx, data: dict) -> Report:
    _check_definition(ctx.session, data)
    _check_sharing(ctx, data)
    report = Report(owner_id=ctx.caller.user_id, author=ctx.caller.to_dict(), **data)
    _schedule(report)
    ctx.session.add(report)
    ctx.session.flush()
    return report


def get_report(ctx, record_id: str) -> Report:
    return _load(ctx, Report, record_id, "report")


def update_report(ctx, record_id: str, data: dict, expected_version: int | None = None) -> Report:
    report = _load(ctx, Report, record_id, "report", writing=True)
    check_version(report, expected_version)
    merged = {k: getattr(report, k) for k in ("source", "columns", "filters", "group_by", "sort")} | data
    _check_definition(ctx.session, merged)
    _check_sharing(ctx, data)
    for key, value in data.items():
        setattr(report, key, value)
    if "schedule" in data:
        _schedule(report)
    ctx.session.flush()
    return report


CADENCE = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


def _schedule(report: Report, after: datetime | None = None) -> None:
    """The next time a scheduled report is mailed (none without a schedule)."""
    from crm_common.db import utcnow
    report.next_run_at = (after or utcnow()) + CADENCE[report.schedule["cadence"]] if report.schedule else None


def delete_report(ctx, record_id: str, expected_version: int | None = None) -> None:
    report = _load(ctx, Report, record_id, "report", writing=True)
    check_version(report, expected_version)
    ctx.session.delete(report)


def list_reports(ctx, data: dict) -> dict:
    query = select(Report)
    seen = _mine_or_shared(Report, ctx.caller)
    if seen is not None:
        query = query.where(seen)
    if data.get("source"):
        query = query.where(Report.source == data["source"])
    rows, cursor = paging.paginate(ctx.session, query, Report, data.get("sort") or "-created_at",
                                   data.get("limit", 50), data.get("cursor"), SORTABLE)
    return {"items": rows, "next_cursor": cursor}


def _day_start(value: str, after: bool = False) -> datetime:
    day = date.fromisoformat(str(value)) + (timedelta(days=1) if after else timedelta())
    return datetime.combine(day, time(), timezone.utc)


def rows(ctx, report: Report, offset: int = 0, limit: int = 1000, count: bool = False) -> tuple[list, int | None]:
    """One page of the report's rows over the caller's scope (and the count of all, when asked); rows without a
    value of the sort column last, either way, on every backend."""
    cols = Columns(ctx.session, report.source)
    source, table = cols.source, cols.table
    where = [visible(ctx.caller, source.resource, table)]
    for key, value in (report.filters or {}).items():
        if key == "from":
            where.append(table.c[source.date] >= _day_start(value))
        elif key == "to":
            where.append(table.c[source.date] < _day_start(value, after=True))
        else:
            where.append(cols.condition(key, value))
    descending = (report.sort or "").startswith("-")
    key = (report.sort or "").lstrip("-")
    if report.group_by:
        group = cols.expr(report.group_by)
        sums = _sums(cols, report)
        query = select(group.label("key"), func.count().label("count"),
                       *[func.sum(cols.expr(c)).label(c) for c in sums]).where(*where).group_by(group)
        order = {"count": func.count(), "key": group}.get(key, group if key in ("", report.group_by) else None)
        order = order if order is not None else (func.sum(cols.expr(key)) if key in sums else group)
        query = query.order_by(_ordered(order, descending), group)
    else:
        order = cols.expr(key) if key else table.c[source.date]
        descending = descending or not key
        query = select(*[cols.expr(c).label(c) for c in report.columns]).where(*where).order_by(
            _ordered(order, descending), table.c[list(source.columns)[0]])
    total = None
    if count:
        total = ctx.session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar()
    kinds = {c["name"]: c["type"] for c in _columns(cols, report)}
    found = [{k: plain(v, kinds.get(k, "text")) for k, v in r._mapping.items()}
             for r in ctx.session.execute(query.offset(offset).limit(limit))]
    return found, total


def _ordered(order, descending: bool):
    """`order` descending or not, rows without a value last on every backend; a column that cannot be NULL (a
    source's date, readmodels._dated) without NULLS LAST, so that its ascending index read backward serves the
    newest first on PostgreSQL (which reads it NULLS FIRST) as on SQLite."""
    ordered = order.desc() if descending else order
    return ordered if isinstance(order, Column) and not order.nullable else ordered.nulls_last()


def _sums(cols: Columns, report: Report) -> list[str]:
    return [c for c in report.columns if cols.kind(c) in SUMMED and c != report.group_by]


def _columns(cols: Columns, report: Report) -> list[dict]:
    if report.group_by:
        return [{"name": "key", "type": cols.kind(report.group_by)}, {"name": "count", "type": "integer"},
                *[{"name": c, "type": cols.kind(c)} for c in _sums(cols, report)]]
    return [{"name": c, "type": cols.kind(c)} for c in report.columns]


def columns_of(session, report: Report) -> list[dict]:
    """The report's columns with their types (a custom field's as its definition says)."""
    return _columns(Columns(session, report.source), report)


def run_report(ctx, record_id: str, data: dict) -> dict:
    report = _load(ctx, Report, record_id, "report")
    if data.get("format", "json") != "json" and not ctx.caller.can("report", "export"):
        raise ServiceError("forbidden", "your role may not export reports")
    offset, limit = data.get("cursor") or 0, data.get("limit", 1000)
    found, total = rows(ctx, report, offset, limit + 1, count=offset == 0)
    more = len(found) > limit
    return {"report_id": report.id, "name": report.name, "source": report.source, "chart": report.chart,
            "columns": columns_of(ctx.session, report), "rows": found[:limit], "total": total,
            "next_cursor": offset + limit if more else None}


# -- dashboards ----------------------------------------------------------------------------------

def _check_widgets(ctx, widgets: list) -> None:
    for i, widget in enumerate(widgets or []):
        try:
            _load(ctx, Report, widget["report_id"], "report")
        except ServiceError:
            raise _invalid({"widgets": [f"widget {i}: no such report of yours or shared with you"]}) from None


def create_dashboard(ctx, data: dict) -> Dashboard:
    _check_widgets(ctx, data.get("widgets"))
    _check_sharing(ctx, data)
    dashboard = Dashboard(owner_id=ctx.caller.user_id, **data)
    ctx.session.add(dashboard)
    ctx.session.flush()
    return dashboard


def get_dashboard(ctx, record_id: str) -> dict:
    """The dashboard with each widget's data: its report's first 100 rows over the viewer's scope."""
    dashboard = _load(ctx, Dashboard, record_id, "dashboard")
    widgets = []
    for widget in dashboard.widgets or []:
        report = ctx.session.get(Report, widget["report_id"])
        entry = dict(widget)
        if report is None:
            entry["data"] = None
        else:
            found, total = rows(ctx, report, 0, 100, count=True)
            entry.update(chart=widget.get("chart") or report.chart,
                         data={"name": report.name, "columns": columns_of(ctx.session, report), "rows": found, "total": total})
        widgets.append(entry)
    return {c: getattr(dashboard, c) for c in ("id", "version", "created_at", "updated_at", "name", "owner_id",
                                                "shared_team_id", "shared_role")} | {"widgets": widgets}


def update_dashboard(ctx, record_id: str, data: dict, expected_version: int | None = None) -> Dashboard:
    dashboard = _load(ctx, Dashboard, record_id, "dashboard", writing=True)
    check_version(dashboard, expected_version)
    if "widgets" in data:
        _check_widgets(ctx, data["widgets"])
    _check_sharing(ctx, data)
    for key, value in data.items():
        setattr(dashboard, key, value)
    ctx.session.flush()
    return dashboard


def delete_dashboard(ctx, record_id: str, expected_version: int | None = None) -> None:
    dashboard = _load(ctx, Dashboard, record_id, "dashboard", writing=True)
    check_version(dashboard, expected_version)
    ctx.session.delete(dashboard)


def list_dashboards(ctx, data: dict) -> dict:
    query = select(Dashboard)
    seen = _mine_or_shared(Dashboard, ctx.caller)
    if seen is not None:
        query = query.where(seen)
    rows_, cursor = paging.paginate(ctx.session, query, Dashboard, data.get("sort") or "-created_at",
                                    data.get("limit", 50), data.get("cursor"), SORTABLE)
    return {"items": rows_, "next_cursor": cursor}
