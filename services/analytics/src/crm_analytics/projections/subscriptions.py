"""Sales' subscription events into the read models: each subscription as it stands (plan, quantity, status, MRR)
and each change that moved its MRR (new, expansion, contraction, churn, reactivation), kept by event id. A
subscription is its account owner's (the account's row when the event comes)."""
from __future__ import annotations

from crm_analytics.projections.base import day, money, occurred, one, pick, upsert


def subscription_changed(s, env, data):
    account = one(s, "accounts", data["account_id"]) if data.get("account_id") else None
    owner = account.get("owner_id") if account is not None else None
    at = occurred(env)
    values = {**pick(data, "account_id", "plan_id", "quantity", "status", "currency"),
              "mrr": money(data.get("mrr_after")), "renews_on": day(data.get("renews_on"))}
    if owner is not None:
        values["owner_id"] = owner
    upsert(s, "subscriptions", {"id": data["id"]}, values, {"started_on": day(data.get("effective_on")) or at.date()},
           at=at)
    movement = data.get("movement")
    if movement and movement != "none":
        s.put("mrr_movements", {"event_id": str(env["event_id"])[:64], "subscription_id": data["id"],
                                "account_id": data.get("account_id"), "owner_id": owner, "movement": movement,
                                "currency": data.get("currency"), "mrr_before": money(data.get("mrr_before")) or 0,
                                "mrr_after": money(data.get("mrr_after")) or 0,
                                "effective_on": day(data.get("effective_on")) or at.date(), "occurred_at": at})


PROJECTORS = {f"sales.subscription_{name}.v1": subscription_changed
              for name in ("created", "changed", "renewed", "cancelled", "expired")}
