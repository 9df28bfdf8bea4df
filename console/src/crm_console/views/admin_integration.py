"""Administration of what connects to the CRM and what runs by itself, for administrators only (a 404 to anyone
else, as crm_console.views.admin): API keys (the secret shown once, on the answer to the create, never stored
by the console), webhooks (subscriptions, their delivery log, a test ping) and workflows (the list, the built-in
templates switched on and off, each workflow's run log)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm_console import api
from crm_console.views.admin import admin_only
from crm_console.views.common import field_errors
from crm_console.views.leads import _id

blp = Blueprint("integration_admin", __name__, url_prefix="/admin")


def _refused(exc: api.ApiError, statuses=(409, 422)) -> dict:
    if exc.status not in statuses:
        raise exc
    return field_errors(exc) or {"_schema": [exc.detail]}


# -- API keys ------------------------------------------------------------------------------------------

@blp.route("/api-keys/", methods=["GET", "POST"])
@admin_only
def api_keys():
    errors, data = {}, {"roles": []}
    if request.method == "POST":
        data = {"name": request.form.get("name", "").strip(),
                "roles": [r for r in request.form.getlist("roles") if r]}
        if request.form.get("rate_limit", "").strip():
            data["rate_limit"] = request.form["rate_limit"].strip()
        try:
            made = api.call("POST", "/api-keys", json=data)
        except api.ApiError as exc:
            errors = _refused(exc)
        else:  # the secret goes into this answer only (no-store), never into the session, a flash or a URL
            return render_template("admin/api_key_created.html", key=made)
    keys = api.call("GET", "/api-keys", params={"limit": 200, "sort": "-created_at"}).get("items", [])
    roles = api.call("GET", "/roles", params={"limit": 200}).get("items", [])
    return render_template("admin/api_keys.html", keys=keys, roles=roles, data=data,
                           errors=errors), 422 if errors else 200


@blp.route("/api-keys/<key_id>/revoke", methods=["POST"])
@admin_only
def revoke_key(key_id):
    api.call("DELETE", f"/api-keys/{_id(key_id)}")
    flash(_("The key is revoked: it stops working now."), "ok")
    return redirect(url_for("integration_admin.api_keys"))


# -- webhooks ------------------------------------------------------------------------------------------

def _events(text: str) -> list[str]:
    return [part for part in text.replace(",", " ").split() if part]


@blp.route("/webhooks/", methods=["GET", "POST"])
@admin_only
def webhooks():
    errors, data = {}, {}
    if request.method == "POST":
        data = {"url": request.form.get("url", "").strip(), "events": _events(request.form.get("events", ""))}
        if request.form.get("description", "").strip():
            data["description"] = request.form["description"].strip()
        try:
            made = api.call("POST", "/webhooks", json=data)
        except api.ApiError as exc:
            errors = _refused(exc)
            data["events"] = " ".join(data["events"])
        else:
            return render_template("admin/webhook_created.html", hook=made)
    hooks = api.call("GET", "/webhooks", params={"limit": 200, "sort": "-created_at"}).get("items", [])
    return render_template("admin/webhooks.html", hooks=hooks, data=data, errors=errors), 422 if errors else 200


@blp.route("/webhooks/<hook_id>")
@admin_only
def webhook(hook_id):
    hook_id = _id(hook_id)
    hook = api.call("GET", f"/webhooks/{hook_id}")
    deliveries = api.call("GET", f"/webhooks/{hook_id}/deliveries", params={"limit": 50}).get("items", [])
    return render_template("admin/webhook.html", hook=hook, deliveries=deliveries)


@blp.route("/webhooks/<hook_id>/<action>", methods=["POST"])
@admin_only
def webhook_action(hook_id, action):
    hook_id = _id(hook_id)
    if action == "test":
        api.call("POST", f"/webhooks/{hook_id}/test", json={})
        flash(_("Test ping sent: it shows in the delivery log below."), "ok")
    elif action in ("on", "off"):
        try:
            api.call("PATCH", f"/webhooks/{hook_id}", json={"active": action == "on"},
                     headers={"If-Match": f'"{request.form.get("version", "")}"'})
        except api.ApiError as exc:
            if exc.status != 412:
                raise
            flash(_("Changed by someone else. Reload to see the latest version."), "warn")
        else:
            flash(_("Webhook switched on.") if action == "on" else _("Webhook switched off."), "ok")
    else:
        raise api.ApiError(404, {})
    return redirect(url_for("integration_admin.webhook", hook_id=hook_id))


# -- workflows -----------------------------------------------------------------------------------------

@blp.route("/workflows/")
@admin_only
def workflows():
    flows = api.call("GET", "/workflows", params={"limit": 200, "sort": "name"}).get("items", [])
    templates = api.call("GET", "/workflow-templates").get("items", [])
    active = {flow["id"]: flow.get("active") for flow in flows}
    return render_template("admin/workflows.html", flows=flows, templates=templates, active=active)


@blp.route("/workflows/templates/<key>", methods=["POST"])
@admin_only
def switch_template(key):
    """A built-in template switched on (the API makes its workflow, or makes it active again) or off."""
    on = request.form.get("active") == "1"
    try:
        api.call("POST", f"/workflow-templates/{key[:100]}/enable", json={"active": on})
    except api.ApiError as exc:
        errors = _refused(exc, (404, 409, 422))
        flash(" ".join(m for ms in errors.values() for m in ms), "warn")
    else:
        flash(_("Template switched on.") if on else _("Template switched off."), "ok")
    return redirect(url_for("integration_admin.workflows"))


@blp.route("/workflows/<flow_id>")
@admin_only
def workflow(flow_id):
    flow_id = _id(flow_id)
    flow = api.call("GET", f"/workflows/{flow_id}")
    runs = api.call("GET", f"/workflows/{flow_id}/runs", params={"limit": 50, "sort": "-created_at"}).get("items", [])
    return render_template("admin/workflow.html", flow=flow, runs=runs)
