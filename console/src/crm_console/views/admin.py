"""Administration for administrators only: users (list, create, roles, team, active), teams and roles.
Anyone else gets a 404 here, as the API answers them; the API enforces the rules (the last administrator,
grants above one's own) and its refusals are shown beside the fields or as a message."""
from __future__ import annotations

import functools

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm_console import api
from crm_console.access import is_admin
from crm_console.views.common import field_errors, form_data, list_page, signed_in
from crm_console.views.leads import _id

blp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_only(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not is_admin():
            raise api.ApiError(404, {})
        return view(*args, **kwargs)
    return signed_in(wrapper)


def _choices() -> tuple[list[dict], list[dict]]:
    roles = api.call("GET", "/roles", params={"limit": 200}).get("items", [])
    teams = api.call("GET", "/teams", params={"limit": 200, "sort": "name"}).get("items", [])
    return roles, teams


def _user_form() -> dict:
    body = form_data(request.form, ("email", "full_name", "password"))
    body["roles"] = [r for r in request.form.getlist("roles") if r]
    body["team_id"] = request.form.get("team_id") or None
    return body


@blp.route("/users/")
@admin_only
def users():
    page, filters, sort, errors = list_page("/users", ("q", "role", "team_id"), ("full_name", "-created_at", "email"))
    return render_template("admin/users.html", page=page, filters=filters, sort=sort, errors=errors,
                           cursor=request.args.get("cursor"))


@blp.route("/users/new", methods=["GET", "POST"])
@admin_only
def new_user():
    roles, teams = _choices()
    data, errors = {"roles": []}, {}
    if request.method == "POST":
        data = _user_form()
        try:
            made = api.call("POST", "/users", json=data)
        except api.ApiError as exc:
            if exc.status not in (409, 422):
                raise
            errors = field_errors(exc) or {"_schema": [exc.detail]}
        else:
            flash(_("User %(email)s created.", email=made["email"]), "ok")
            return redirect(url_for("admin.user", user_id=made["id"]))
    return render_template("admin/user.html", user=None, data=data, roles=roles, teams=teams,
                           errors=errors), 422 if errors else 200


@blp.route("/users/<user_id>", methods=["GET", "POST"])
@admin_only
def user(user_id):
    user_id = _id(user_id)
    record = api.call("GET", f"/users/{user_id}")
    roles, teams = _choices()
    data, errors = record, {}
    if request.method == "POST":
        body = _user_form()
        body.pop("password", None)
        body["is_active"] = request.form.get("is_active") == "1"
        try:
            api.call("PATCH", f"/users/{user_id}", json={k: v for k, v in body.items() if k != "email"},
                     headers={"If-Match": f'"{request.form.get("version", "")}"'})
        except api.ApiError as exc:
            if exc.status not in (409, 412, 422):
                raise
            errors = field_errors(exc) or {"_schema": [exc.detail if exc.status != 412 else _(
                "Changed by someone else. Reload to see the latest version.")]}
            data = {**record, **body}
        else:
            flash(_("Saved."), "ok")
            return redirect(url_for("admin.user", user_id=user_id))
    return render_template("admin/user.html", user=record, data=data, roles=roles, teams=teams,
                           errors=errors), 422 if errors else 200


@blp.route("/teams/", methods=["GET", "POST"])
@admin_only
def teams():
    errors = {}
    if request.method == "POST":
        try:
            api.call("POST", "/teams", json=form_data(request.form, ("name",)))
        except api.ApiError as exc:
            if exc.status not in (409, 422):
                raise
            errors = field_errors(exc) or {"name": [exc.detail]}
        else:
            flash(_("Team created."), "ok")
            return redirect(url_for("admin.teams"))
    page = api.call("GET", "/teams", params={"limit": 200, "sort": "name"})
    return render_template("admin/teams.html", page=page, errors=errors), 422 if errors else 200


@blp.route("/roles/")
@admin_only
def roles():
    return render_template("admin/roles.html", roles=api.call("GET", "/roles", params={"limit": 200}).get("items", []))
