"""The week calendar of me or my team, in the user's time zone, and booking a meeting: a clash with another
meeting of the same person is shown with the clashing meetings and a "book anyway" button."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import get_timezone, gettext as _

from crm_console import api
from crm_console.views.common import field_errors, signed_in

blp = Blueprint("calendar", __name__, url_prefix="/calendar")
FIELDS = {"starts_at": "start", "ends_at": "end"}  # the API's names -> the form's


def _zone() -> ZoneInfo:
    return ZoneInfo(str(get_timezone()))


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _monday(value: str | None) -> date:
    try:
        day = date.fromisoformat(value) if value else datetime.now(_zone()).date()
    except ValueError:
        day = datetime.now(_zone()).date()
    return day - timedelta(days=day.weekday())


def _local_day(activity: dict) -> date | None:
    at = activity.get("starts_at") or activity.get("due_at")
    return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(_zone()).date() if at else None


@blp.route("/")
@signed_in
def week():
    monday, me = _monday(request.args.get("week")), session.get("me") or {}
    team = request.args.get("team") == "1" and me.get("team_id")
    start = datetime.combine(monday, time.min, _zone())
    params = {"from": _utc(start), "to": _utc(start + timedelta(days=7))}
    params.update({"team_id": me["team_id"]} if team else ({"user_id": me["id"]} if me.get("id") else {}))
    items = api.call("GET", "/calendar", params=params).get("items", [])
    days = [monday + timedelta(days=n) for n in range(7)]
    by_day = {day: [a for a in items if _local_day(a) == day] for day in days}
    return render_template("calendar/week.html", days=days, by_day=by_day, monday=monday, team=bool(team),
                           has_team=bool(me.get("team_id")), today=datetime.now(_zone()).date(),
                           previous=monday - timedelta(days=7), following=monday + timedelta(days=7))


def _moment(day: str, clock: str) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), _zone())
    except ValueError:
        return None


@blp.route("/meetings/new", methods=["GET", "POST"])
@signed_in
def new_meeting():
    form = request.form if request.method == "POST" else request.args
    data = {name: form.get(name, "").strip() for name in ("subject", "day", "start", "end")}
    if request.method == "GET":
        return render_template("calendar/new.html", data=data, errors={}, conflicts=None)
    starts, ends = _moment(data["day"], data["start"]), _moment(data["day"], data["end"])
    errors = {name: [_("Enter a date and a time.")] for name, value in
              (("day", starts or ends), ("start", starts), ("end", ends)) if value is None}
    if errors:
        return render_template("calendar/new.html", data=data, errors=errors, conflicts=None), 422
    body = {"type": "meeting", "subject": data["subject"], "starts_at": _utc(starts), "ends_at": _utc(ends)}
    if request.form.get("allow_conflict") == "1":
        body["allow_conflict"] = True
    try:
        api.call("POST", "/activities", json=body)
    except api.ApiError as exc:
        if exc.status == 409 and "conflicts" in exc.problem:
            return render_template("calendar/new.html", data=data, errors={},
                                   conflicts=exc.problem.get("conflicts") or []), 409
        if exc.status == 422:
            errors = {FIELDS.get(k, k): v for k, v in field_errors(exc).items()}
            return render_template("calendar/new.html", data=data, errors=errors, conflicts=None), 422
        raise
    flash(_("Meeting booked."), "ok")
    return redirect(url_for("calendar.week", week=data["day"]))
