"""Sign in (with the MFA step), sign out, and the language switch."""
from __future__ import annotations

import time

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from crm_console import access, api
from crm_console.i18n import LANGUAGES

blp = Blueprint("auth", __name__)
PENDING_SECONDS = 300  # how long the password step waits for its one-time code (server-side only)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("home.index")


@blp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("login.html", step="password", next=request.args.get("next"), errors={})
    target = request.form.get("next")
    pending = session.get("pending_login")
    otp = request.form.get("otp", "").strip() or None
    if otp and pending and pending["until"] > time.time():
        email, password = pending["email"], pending["password"]
    else:
        email, password = request.form.get("email", "").strip(), request.form.get("password", "")
    try:
        tokens = api.login(email, password, otp)
    except api.ApiError as exc:
        mfa = exc.problem.get("mfa")
        if exc.status == 401 and mfa in ("required", "invalid"):
            session["pending_login"] = {"email": email, "password": password, "until": time.time() + PENDING_SECONDS}
            errors = {"otp": [_("Wrong one-time code.")]} if mfa == "invalid" else {}
            return render_template("login.html", step="otp", next=target, errors=errors), 200
        session.pop("pending_login", None)
        if exc.status == 401:
            message = _("Wrong email or password.")
        elif exc.status == 429:
            message = _("Too many attempts. Please wait a moment.")
        elif exc.status == 422:
            message = _("Please enter your email and password.")
        else:
            from crm_console.app import describe
            message = describe(exc)
        return render_template("login.html", step="password", next=target, email=email, message=message,
                               errors={}), exc.status if exc.status in (401, 422, 429, 503) else 400
    session.pop("pending_login", None)
    current_app.session_interface.rotate(session)
    session["tokens"] = tokens
    session.pop("csrf", None)
    try:
        me = api.call("GET", "/me")
        session["me"] = access.keep(me)
        if me.get("timezone"):
            session["tz"] = me["timezone"]
    except api.ApiError:
        session["me"] = {"email": email, "roles": [], "perms": {}}
    return redirect(_safe_next(target))


@blp.route("/logout", methods=["POST"])
def logout():
    api.logout()
    lang = session.get("lang")
    session.clear()
    current_app.session_interface.rotate(session)  # the old id (and its tokens) forgotten
    if lang:
        session["lang"] = lang  # the language chosen stays with the browser
    return redirect(url_for("auth.login"))


@blp.route("/language", methods=["POST"])
def language():
    lang = request.form.get("lang")
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(_safe_next(request.form.get("next")))
