"""The audit trail for the roles that may read it (administrators, or a role granted `audit`): who did what to
which record, when, from which request; filtered by entity type, entity id and actor, a page at a time.
Anyone else gets a 404, as the API answers them."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from crm_console import access, api
from crm_console.views.common import list_page, signed_in

blp = Blueprint("audit", __name__, url_prefix="/admin/audit")


@blp.route("/")
@signed_in
def index():
    if not access.can("audit"):
        raise api.ApiError(404, {})
    page, filters, sort, errors = list_page("/audit", ("entity_type", "entity_id", "actor_id"),
                                            ("-occurred_at", "occurred_at"), size=50)
    return render_template("admin/audit.html", page=page, filters=filters, sort=sort, errors=errors,
                           cursor=request.args.get("cursor"))
