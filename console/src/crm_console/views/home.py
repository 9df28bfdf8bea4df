"""Home: my notifications, my open leads, my pipeline, my tasks and meetings today, my open tickets (the boxes
the user's roles may read; everyone has their own notifications)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, copy_current_request_context, redirect, render_template, session, url_for
from flask_babel import get_timezone

from crm_console import access, api
from crm_console.views.common import signed_in
from crm_console.views.portal import is_customer

blp = Blueprint("home", __name__)
BOX_RESOURCES = {"notifications": None, "leads": "lead", "deals": "opportunity", "calendar": "activity", "tickets": "ticket"}


def _section(path: str, params: dict) -> dict:
    """One box of the home page; a part of the CRM that is down leaves the rest of the page."""
    try:
        answer = api.call("GET", path, params=params, may_refresh=False) or {}
        return {"items": answer.get("items", []), "unread_count": answer.get("unread_count"), "error": None}
    except api.ApiError as exc:
        if exc.status in (401,):
            raise
        return {"items": [], "error": exc.status}


@blp.route("/")
@signed_in
def index():
    if is_customer():  # a portal customer's home is the portal
        return redirect(url_for("portal.tickets"))
    me = session.get("me") or {}
    mine = {"owner_id": me["id"]} if me.get("id") else {}
    zone = ZoneInfo(str(get_timezone()))  # "today" is the user's day, in their time zone
    today = datetime.combine(datetime.now(zone).date(), time.min, zone).astimezone(timezone.utc)
    boxes = {
        "notifications": ("/notifications", {"limit": 10}),
        "leads": ("/leads", {**mine, "status": "new", "limit": 5, "sort": "-created_at"}),
        "deals": ("/opportunities", {**mine, "limit": 5, "sort": "expected_close_date"}),
        "calendar": ("/calendar", {"from": today.isoformat().replace("+00:00", "Z"),
                                   "to": (today + timedelta(days=1)).isoformat().replace("+00:00", "Z"),
                                   **({"user_id": me["id"]} if me.get("id") else {})}),
        "tickets": ("/tickets", {**({"assignee_id": me["id"]} if me.get("id") else {}), "limit": 5}),
    }
    boxes = {name: box for name, box in boxes.items()
             if BOX_RESOURCES[name] is None or access.can(BOX_RESOURCES[name])}  # only what they may use
    api.ensure_fresh()
    with ThreadPoolExecutor(max(1, len(boxes))) as pool:  # the calls at once: the page waits for the slowest only
        futures = {name: pool.submit(copy_current_request_context(_section), path, params)
                   for name, (path, params) in boxes.items()}
        shown = {name: futures[name].result() if name in futures else None for name in BOX_RESOURCES}
        return render_template("home.html", **shown)
