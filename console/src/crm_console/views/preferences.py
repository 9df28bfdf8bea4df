"""The user's preferences kept in the console session: the time zone every date and time is shown in."""
from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, refresh

from crm_console.views.common import signed_in

blp = Blueprint("preferences", __name__, url_prefix="/preferences")


@lru_cache(maxsize=1)
def zones() -> tuple[str, ...]:
    return tuple(sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))))


@blp.route("/", methods=["GET", "POST"])
@signed_in
def edit():
    errors = {}
    if request.method == "POST":
        zone = request.form.get("timezone", "")
        if zone == "UTC" or zone in zones():
            session["tz"] = zone
            refresh()
            flash(_("Times are now shown in %(zone)s.", zone=zone), "ok")
            return redirect(url_for("preferences.edit"))
        errors = {"timezone": [_("Choose a time zone from the list.")]}
    return render_template("preferences.html", zones=zones(), current=session.get("tz") or "UTC",
                           errors=errors), 422 if errors else 200
