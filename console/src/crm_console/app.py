"""The console's Flask app factory; crm_console.wsgi serves it on the gateway's origin."""
from __future__ import annotations

import os
import uuid

from flask import Flask, g, redirect, render_template, request, session, url_for
from flask_babel import Babel, get_locale, gettext as _
from werkzeug.exceptions import HTTPException

from crm_console import access, api, security, sessions
from crm_console.i18n import LANGUAGES, select_locale, select_timezone
from crm_console import formatting

AREAS = ("auth", "home", "leads")


def create_app(config: dict | None = None) -> Flask:
    app = Flask("crm_console", static_url_path="/console-static")
    development = (os.environ.get("CRM_ENV") or "development").strip().lower() == "development"
    var_dir = os.environ.get("CRM_VAR_DIR") or "var"
    app.config.update(SECRET_KEY=os.urandom(32), CRM_API_URL=os.environ.get("CRM_CONSOLE_API_URL"),
                      SEND_FILE_MAX_AGE_DEFAULT=3600, BABEL_DEFAULT_LOCALE="en")
    app.config.update(config or {})
    store = app.config.get("SESSION_STORE") or sessions.make_store(var_dir)
    app.session_interface = sessions.ServerSessionInterface(
        store, secure=not development, ttl=int(os.environ.get("CRM_CONSOLE_SESSION_HOURS") or 12) * 3600)
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.globals.update(csrf_token=security.csrf_token, can=access.can, is_admin=access.is_admin,
                                 LANGUAGES=LANGUAGES, get_locale=get_locale)
    formatting.register(app.jinja_env)

    from crm_console.views import register
    register(app)

    @app.before_request
    def _start():
        g.request_id = str(uuid.uuid4())
        return security.check_csrf()

    app.after_request(security.headers)

    @app.errorhandler(api.LoginRequired)
    def _login(_exc):
        if request.headers.get("HX-Request"):
            response = app.make_response(("", 401))
            response.headers["HX-Redirect"] = url_for("auth.login")
            return response
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?") if request.method == "GET" else None))

    @app.errorhandler(api.ApiError)
    def _api_error(exc: api.ApiError):
        return render_template("error.html", status=exc.status, message=describe(exc)), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        message = _("Your form expired. Please try again.") if exc.description == "csrf" else exc.name
        return render_template("error.html", status=exc.code, message=message), exc.code

    return app


def describe(exc: api.ApiError) -> str:
    """A sentence a person understands for an API error (never another user's data)."""
    if exc.status == 503:
        return _("Part of the CRM is not answering (%(part)s). Please try again in a moment.",
                 part=exc.detail or _("a service"))
    if exc.status in (403,):
        return _("You are not allowed to do this.")
    if exc.status == 404:
        return _("Not found, or not visible to you.")
    if exc.status == 412:
        return _("Changed by someone else. Reload to see the latest version.")
    if exc.status == 429:
        return _("Too many requests. Please wait a moment.")
    return exc.detail or _("Something went wrong.")
