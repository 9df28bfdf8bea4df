"""Marketing events into the read models: campaigns (with their cost) and per-variant delivery counters."""
from __future__ import annotations

from crm_analytics.projections.base import money, occurred, pick, upsert


def campaign_changed(s, env, data):
    values = pick(data, "name", "type", "status", "currency")
    if "actual_cost" in data:
        values["cost"] = money(data["actual_cost"])
    if env.get("type") == "marketing.campaign_deleted.v1":
        values["deleted"] = True
    upsert(s, "campaigns", {"id": data["id"]}, values, {"created_at": occurred(env), "deleted": False})


def counter(column):
    def count(s, env, data):
        campaign = data.get("campaign_id")
        if not campaign or data.get("is_test"):
            return
        s.count("campaign_stats", {"campaign_id": campaign, "variant": data.get("variant_id") or ""}, column, 1)
    count.__name__ = f"count_{column}"
    return count


PROJECTORS = {f"marketing.{name}.v1": fn for name, fn in dict(
    campaign_created=campaign_changed, campaign_updated=campaign_changed, campaign_deleted=campaign_changed,
    email_sent=counter("sent"), email_opened=counter("opened"), email_clicked=counter("clicked"),
    unsubscribed=counter("unsubscribed"), email_bounced=counter("bounced"),
    complaint_received=counter("complained")).items()}
