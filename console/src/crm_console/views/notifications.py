"""The signed-in user's notifications: the unread count in the menu (loaded after the page, so no page waits for
it), mark one read, mark all read (CSRF-checked forms, as every form). The home page lists them (views/home.py)."""
from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, url_for

from crm_console import api
from crm_console.records import record_url
from crm_console.views.common import signed_in
from crm_console.views.leads import _id

blp = Blueprint("notifications", __name__, url_prefix="/notifications")
blp.add_app_template_global(record_url)


def _back():
    """Back to the list the forms are in (the home page)."""
    return redirect(url_for("home.index") + "#notifications")


@blp.route("/unread")
@signed_in
def unread():
    """The menu's badge (an htmx fragment): how many of the user's notifications are unread. Fetched while the
    user may already be signing out or switching language, it leaves the session as it finds it: no refresh of the
    tokens (the next page does that) and no write."""
    g.session_read_only = True
    try:
        count = (api.call("GET", "/notifications", params={"limit": 1, "unread": "true"}, may_refresh=False)
                 or {}).get("unread_count") or 0
    except (api.ApiError, api.LoginRequired):
        count = 0  # no badge when the inbox is unreachable or the token is due for a refresh
    return render_template("notifications/_unread.html", count=count)


@blp.route("/<notification_id>/read", methods=["POST"])
@signed_in
def read(notification_id):
    api.call("POST", f"/notifications/{_id(notification_id)}/read")
    return _back()


@blp.route("/read-all", methods=["POST"])
@signed_in
def read_all():
    api.call("POST", "/notifications/read-all")
    return _back()
