"""Marketing: campaigns (list with type and status filters, a campaign's page with its figures)."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from crm_console import api
from crm_console.views.common import list_page, signed_in
from crm_console.views.leads import _id

blp = Blueprint("marketing", __name__, url_prefix="/campaigns")
TYPES = ("email", "event", "webinar", "social", "print", "other")
STATUSES = ("draft", "scheduled", "sending", "sent", "cancelled")
FUNNEL = ("recipients", "sent", "delivered", "unique_opens", "unique_clicks", "leads", "opportunities")
OTHER = ("bounced", "unsubscribed", "complaints")


@blp.route("/")
@signed_in
def campaigns():
    page, filters, sort, errors = list_page("/campaigns", ("q", "type", "status"), ("-created_at", "name",
                                                                                   "starts_on"))
    return render_template("marketing/campaigns.html", page=page, filters=filters, sort=sort, errors=errors,
                           types=TYPES, statuses=STATUSES, cursor=request.args.get("cursor"))


@blp.route("/<campaign_id>")
@signed_in
def campaign(campaign_id):
    campaign_id = _id(campaign_id)
    record = api.call("GET", f"/campaigns/{campaign_id}")
    try:
        stats, unavailable = api.call("GET", f"/campaigns/{campaign_id}/stats"), None
    except api.ApiError as exc:  # the campaign stays on the page when its figures cannot be had
        if exc.status not in (403, 404, 503):
            raise
        stats, unavailable = None, exc.status
    return render_template("marketing/campaign.html", campaign=record, stats=stats, unavailable=unavailable,
                           funnel=FUNNEL, other=OTHER)
